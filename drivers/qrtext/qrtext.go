// Package qrtext turns the raw bytes of a scan into text, or says what is wrong with
// them (too long, not UTF-8 because of the scanner's code page, UTF-8 encoded twice,
// control bytes). It knows nothing of what the text means: qrpayload classifies it.
package qrtext

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPayload caps a payload; a QR holds at most 2953 bytes, so anything longer is a
// fault (a scanner that never ends its scans, or a hostile device).
const MaxPayload = 4096

// Errors for bytes that are not a usable payload; test with errors.Is.
var (
	ErrEmpty   = errors.New("empty scan")
	ErrTooLong = errors.New("scan too long")
	// ErrWrongCodePage: the bytes are not UTF-8. A scanner set to a legacy code page
	// (Windows-1258, TCVN3, Latin-1) sends Vietnamese letters as single bytes.
	ErrWrongCodePage = errors.New("not UTF-8: the scanner is set to a legacy code page; set its output to UTF-8")
	// ErrDoubleEncoded: the text is UTF-8 that was read as Latin-1/Windows-1252 and
	// encoded again ("Nguyá»…n"): a scanner or driver converting twice.
	ErrDoubleEncoded = errors.New("UTF-8 encoded twice: the scanner re-encodes UTF-8 as if it were Latin-1; set it to pass bytes through")
	ErrControlBytes  = errors.New("control bytes (NUL or other) inside the scan")
)

// Text validates raw scan bytes and returns them as a string: at most MaxPayload bytes,
// valid UTF-8 encoded once, no control bytes except TAB. A leading BOM and surrounding
// CR/LF/space are dropped, and decomposed (NFD) text, which some phone apps produce,
// comes back composed (NFC) so that the same content always gives the same text.
func Text(b []byte) (string, error) {
	if len(b) > MaxPayload {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(b), MaxPayload)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.Trim(b, " \r\n")
	if len(b) == 0 {
		return "", ErrEmpty
	}
	if !utf8.Valid(b) {
		return "", codePageError(b)
	}
	for i, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return "", fmt.Errorf("%w: byte 0x%02x at offset %d", ErrControlBytes, c, i)
		}
	}
	s := string(b)
	if doubleEncoded(s) {
		return "", ErrDoubleEncoded
	}
	return norm.NFC.String(s), nil
}

// codePageError names the likely code page from the bytes that broke UTF-8.
func codePageError(b []byte) error {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			c := b[i]
			guess := "Windows-1258 or Latin-1"
			if c < 0x80 {
				guess = "unknown"
			}
			return fmt.Errorf("%w (first bad byte 0x%02x at offset %d; looks like %s)", ErrWrongCodePage, c, i, guess)
		}
		i += n
	}
	return ErrWrongCodePage
}

// doubleEncoded reports text whose runes all fit in one byte and whose bytes, taken
// as such, are valid multi-byte UTF-8: "Ä‘" is "đ" encoded twice. Windows-1252 maps
// 0x80-0x9F to other runes; those are mapped back too.
func doubleEncoded(s string) bool {
	var raw []byte
	high := false
	for _, r := range s {
		c, ok := latin1Byte(r)
		if !ok {
			return false
		}
		if c >= 0x80 {
			high = true
		}
		raw = append(raw, c)
	}
	if !high || !utf8.Valid(raw) {
		return false
	}
	// Only multi-byte sequences make it double encoding (a lone "é" is not).
	return utf8.RuneCount(raw) < len(raw)
}

var cp1252 = map[rune]byte{'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c,
	'ž': 0x9e, 'Ÿ': 0x9f}

func latin1Byte(r rune) (byte, bool) {
	if r < 0x100 {
		return byte(r), true
	}
	c, ok := cp1252[r]
	return c, ok
}
