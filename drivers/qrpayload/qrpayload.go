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
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"motcua-agent/config"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/qrtext"
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
	s, err := qrtext.Text(b)
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
