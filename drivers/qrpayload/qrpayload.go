// Package qrpayload decides what a scanned or decoded QR payload is (the ID card's QR
// in its 2021 or 2024 form, a VNeID code, a dossier receipt, or unknown) and parses it,
// in one place for the serial scanners, the keyboard-wedge reader and the image
// decoder. The ID card's fields are parsed by drivers/cccd.
//
// Payloads come from outside: every length is capped and bad bytes give an error that
// says what is wrong (a scanner on a wrong code page, NUL bytes, a truncated code). It
// never logs: payloads carry ID numbers and names.
package qrpayload

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"motcua-agent/config"
	"motcua-agent/drivers/cccd"
)

// Kind names what a payload is; the names travel on the bus and in counter dims.
type Kind string

const (
	KindCCCD2021 Kind = cccd.FormCCCD2021
	KindCCCD2024 Kind = cccd.FormCCCD2024
	// KindCCCDInvalid is a payload shaped like the card's QR (a 12-digit ID and seven
	// fields) whose fields do not hold: a misread or a truncated scan.
	KindCCCDInvalid Kind = "cccd-invalid"
	KindVNeID       Kind = "vneid"
	KindDossier     Kind = "dossier"
	KindUnknown     Kind = "unknown"
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
// CR/LF/space are dropped.
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
	return s, nil
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

// Receipt is a dossier receipt's code and, when the receipt carries it, its service.
type Receipt struct {
	Code    string `json:"code"`
	Service string `json:"service,omitempty"`
	Unit    string `json:"unit,omitempty"` // the receiving unit, for codes in the official shape (dossier.go)
	Date    string `json:"date,omitempty"` // the receipt day YYYY-MM-DD, likewise
}

// Payload is a classified payload.
type Payload struct {
	Kind Kind   `json:"kind"`
	Text string `json:"-"` // the validated text; personal data for ID kinds
	// Card holds the ID card's QR fields for KindCCCD2021/2024.
	Card *cccd.QR `json:"-"`
	// Receipt holds the dossier code for KindDossier.
	Receipt *Receipt `json:"receipt,omitempty"`
	// Problem says why a KindCCCDInvalid payload was refused (no personal data).
	Problem string `json:"problem,omitempty"`
}

// Classifier classifies payloads with a province's receipt pattern.
type Classifier struct {
	receipt *regexp.Regexp
	code    int
	service int
}

// NewClassifier compiles a receipt pattern with a named group "code" and optionally
// "service" (config.DefaultReceiptPattern when empty).
func NewClassifier(receiptPattern string) (*Classifier, error) {
	if receiptPattern == "" {
		receiptPattern = config.DefaultReceiptPattern
	}
	re, err := regexp.Compile(receiptPattern)
	if err != nil {
		return nil, fmt.Errorf("receipt pattern: %w", err)
	}
	c := &Classifier{receipt: re, code: re.SubexpIndex("code"), service: re.SubexpIndex("service")}
	if c.code < 0 {
		return nil, fmt.Errorf("receipt pattern: no named group (?P<code>…)")
	}
	return c, nil
}

// Classify validates raw bytes (see Text) and says what they are. An error means the
// bytes are not a usable payload at all; a recognised but invalid card QR is
// KindCCCDInvalid with its Problem, not an error.
func (c *Classifier) Classify(b []byte) (Payload, error) {
	s, err := Text(b)
	if err != nil {
		return Payload{}, err
	}
	return c.ClassifyText(s), nil
}

// ClassifyText classifies already validated text.
func (c *Classifier) ClassifyText(s string) Payload {
	q, err := cccd.ParseQR(s)
	if err == nil {
		return Payload{Kind: Kind(q.Form), Text: s, Card: &q}
	}
	if !errors.Is(err, cccd.ErrNotCardQR) {
		return Payload{Kind: KindCCCDInvalid, Text: s, Problem: err.Error()}
	}
	if r, err := c.ParseReceipt(s); err == nil {
		return Payload{Kind: KindDossier, Text: s, Receipt: &r}
	} else if !errors.Is(err, ErrNotDossierCode) || errors.Is(err, ErrBadDossierCode) {
		return Payload{Kind: KindUnknown, Text: s, Problem: err.Error()}
	}
	if looksVNeID(s) {
		return Payload{Kind: KindVNeID, Text: s}
	}
	return Payload{Kind: KindUnknown, Text: s}
}

// Receipt finds a dossier code (see ParseReceipt).
func (c *Classifier) Receipt(s string) (Receipt, bool) {
	r, err := c.ParseReceipt(s)
	return r, err == nil
}

// looksVNeID recognises the VNeID app's identity code. Its content is not published,
// so this is a deliberately narrow heuristic: a link to a vneid host, or one opaque
// token (base64, base64url, JWT, hex) of 24 to 2048 characters. Anything else is
// unknown rather than a guess.
func looksVNeID(s string) bool {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		h := strings.ToLower(u.Hostname())
		return h == "vneid.gov.vn" || strings.HasSuffix(h, ".vneid.gov.vn")
	}
	if len(s) < 24 || len(s) > 2048 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case strings.ContainsRune("+/=_-.", r):
		default:
			return false
		}
	}
	return true
}
