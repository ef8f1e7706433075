package qrpayload

import (
	"errors"
	"fmt"
	"motcua-agent/drivers/qrtext"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DossierCode is a dossier code in the shape Circular 01/2018/TT-VPCP art. 19 gives
// it: the receiving unit's electronic identifier, the receipt date as YYMMDD and the
// day's sequence number at that unit, joined by hyphens: 000.00.31.H40-231201-0001.
type DossierCode struct {
	Code string
	// Unit is the receiving unit's identifier: 000.00.31.H40 (the four-level form of
	// Decision 20/2020/QĐ-TTg) or H40.22 (the older dotted form).
	Unit string
	// Received is the receipt date (midnight UTC of that calendar day).
	Received time.Time
	Seq      int
}

// Errors of ParseDossierCode and ParseReceipt; test with errors.Is.
var (
	ErrNotDossierCode = errors.New("not a dossier code")
	// ErrIDNumberAsCode: what was read as a dossier code has the shape of a personal
	// ID number. The message never repeats it.
	ErrIDNumberAsCode = errors.New("has the shape of a personal ID number (12 digits), not of a dossier code; not counted")
	// ErrBadDossierCode: shaped like an official dossier code, but its date or unit
	// does not hold (a misprint or a misread).
	ErrBadDossierCode = errors.New("dossier code malformed")
)

// codeLikeRe is the outer shape of an official code, looser than officialRe, so a
// misread code is reported as one instead of being taken for something else.
// The patterns are compiled on first use, not at start: a process that never meets a
// dossier code (a card QR, any other command) does not pay for them.
var codeLikeRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9A-Z]{1,4}(?:\.[0-9A-Z]{1,4}){0,5}-[0-9]{4,8}-[0-9]{1,8}(?:\|.*)?$`)
})

// unitPattern: four-level identifiers (000.00.31.H40) and the older dotted ones
// (H40, H40.22, H40.22.11). Level-1 codes are a letter and two digits (H40 a province,
// G09 a ministry).
const unitPattern = `(?:[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}|[A-Z][0-9]{2}(?:\.[0-9]{1,3}){0,3})`

var officialRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(` + unitPattern + `)-([0-9]{6})-([0-9]{4,6})$`)
})

// ParseDossierCode parses a code in the official shape. The date must be a real day.
// Errors wrap ErrNotDossierCode.
func ParseDossierCode(s string) (DossierCode, error) {
	if len(s) > 64 {
		return DossierCode{}, fmt.Errorf("%w: longer than 64 bytes", ErrNotDossierCode)
	}
	m := officialRe().FindStringSubmatch(s)
	if m == nil {
		return DossierCode{}, fmt.Errorf("%w: not UNIT-YYMMDD-NNNN", ErrNotDossierCode)
	}
	day, err := time.Parse("060102", m[2])
	if err != nil {
		return DossierCode{}, fmt.Errorf("%w: %s is not a date (YYMMDD)", ErrNotDossierCode, m[2])
	}
	seq, _ := strconv.Atoi(m[3])
	if seq == 0 {
		return DossierCode{}, fmt.Errorf("%w: sequence 0", ErrNotDossierCode)
	}
	return DossierCode{Code: s, Unit: m[1], Received: day, Seq: seq}, nil
}

// LooksLikeIDNumber reports text that holds a personal ID number: a run of exactly 12
// digits (the citizen ID), or nothing but 9 digits (the old identity card).
func LooksLikeIDNumber(s string) bool {
	if len(s) == 9 && allDigits(s) {
		return true
	}
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		if run == 12 {
			return true
		}
		run = 0
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ParseReceipt finds a dossier code in a payload: the official shape, bare, with
// "|service" after it, or inside a look-up URL (as a query value or the last path
// segment); then the province's receipt pattern. A code with the shape of a personal
// ID number is refused (ErrIDNumberAsCode) whichever pattern matched it.
func (c *Classifier) ParseReceipt(s string) (Receipt, error) {
	if len(s) > qrtext.MaxPayload {
		return Receipt{}, ErrNotDossierCode
	}
	if r, ok := officialReceipt(s); ok {
		if LooksLikeIDNumber(r.Service) {
			return Receipt{}, ErrIDNumberAsCode
		}
		return r, nil
	}
	m := c.receipt.FindStringSubmatch(s)
	if m == nil || m[c.code] == "" {
		if t := strings.TrimSpace(s); codeLikeRe().MatchString(t) {
			code, _, _ := strings.Cut(t, "|")
			_, err := ParseDossierCode(code)
			if err == nil {
				err = errors.New("service after '|' malformed")
			}
			return Receipt{}, fmt.Errorf("%w: %w", ErrBadDossierCode, err)
		}
		return Receipt{}, ErrNotDossierCode
	}
	r := Receipt{Code: m[c.code]}
	if c.service >= 0 {
		r.Service = m[c.service]
	}
	if LooksLikeIDNumber(r.Code) || LooksLikeIDNumber(r.Service) {
		return Receipt{}, ErrIDNumberAsCode
	}
	if dc, err := ParseDossierCode(r.Code); err == nil {
		r.Unit, r.Date = dc.Unit, dc.Received.Format(time.DateOnly)
	}
	return r, nil
}

// serviceRe is the optional "|service" after a code.
var serviceRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z.]{1,24}$`) })

func officialReceipt(s string) (Receipt, bool) {
	try := func(text string) (Receipt, bool) {
		code, svc, hasSvc := strings.Cut(strings.TrimSpace(text), "|")
		if hasSvc && !serviceRe().MatchString(svc) {
			return Receipt{}, false
		}
		dc, err := ParseDossierCode(code)
		if err != nil {
			return Receipt{}, false
		}
		return Receipt{Code: dc.Code, Service: svc, Unit: dc.Unit, Date: dc.Received.Format(time.DateOnly)}, true
	}
	if r, ok := try(s); ok {
		return r, true
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Receipt{}, false
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if r, ok := try(v); ok {
				return r, true
			}
		}
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if r, ok := try(segs[len(segs)-1]); ok {
		return r, true
	}
	return Receipt{}, false
}
