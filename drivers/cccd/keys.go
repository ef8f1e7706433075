package cccd

import (
	"fmt"
	"time"
)

// KeyKind says which password an AccessKey carries.
type KeyKind string

const (
	// KeyMRZ is the MRZ-derived key (document number, birth date, expiry date): the BAC
	// key seed, and the PACE MRZ password.
	KeyMRZ KeyKind = "mrz"
	// KeyCAN is the card access number, a PACE password only.
	KeyCAN KeyKind = "can"
)

// NoExpiry marks, in an expiry candidate, a card that does not expire.
const NoExpiry = "none"

// AccessKey is one candidate key for opening the chip. Several are usually tried in
// order; the one that worked is recorded with its Note so the uncertain rules (the
// expiry of a card read from its QR) can be checked against real cards later.
type AccessKey struct {
	Kind           KeyKind
	DocumentNumber string // 9 characters, MRZ keys only
	Birth          string // YYMMDD, MRZ keys only
	Expiry         string // YYMMDD or MRZ filler, MRZ keys only
	CAN            string // 6 digits, CAN keys only
	// Note says where the key came from, in English, with no personal data
	// ("qr: expiry = 40th birthday (issued at 24, 2-year rule)").
	Note string
}

// String describes the key without personal data.
func (k AccessKey) String() string {
	return fmt.Sprintf("%s key (%s)", k.Kind, k.Note)
}

// MRZKey builds an MRZ key from its three parts, checking their form.
func MRZKey(doc, birth, expiry, note string) (AccessKey, error) {
	if len(doc) < 8 || len(doc) > 9 || !mrzChars(doc) {
		return AccessKey{}, fmt.Errorf("MRZ key: document number must be 8 or 9 MRZ characters")
	}
	for len(doc) < 9 {
		doc += "<"
	}
	if _, err := ParseYYMMDD(birth, 2000, false); err != nil {
		return AccessKey{}, fmt.Errorf("MRZ key: birth date: %w", err)
	}
	if expiry != "<<<<<<" {
		if _, err := ParseYYMMDD(expiry, 2000, true); err != nil {
			return AccessKey{}, fmt.Errorf("MRZ key: expiry date: %w", err)
		}
	}
	return AccessKey{Kind: KeyMRZ, DocumentNumber: doc, Birth: birth, Expiry: expiry, Note: note}, nil
}

// CANKey builds a CAN key, checking its form (six digits).
func CANKey(can, note string) (AccessKey, error) {
	if !isDigits(can, 6) {
		return AccessKey{}, fmt.Errorf("CAN key: want 6 digits")
	}
	return AccessKey{Kind: KeyCAN, CAN: can, Note: note}, nil
}

// MRZInformation gives the BAC key seed input: document number, birth date, expiry
// date, each followed by its check digit (ICAO 9303-11 section 9.7.2).
func (k AccessKey) MRZInformation() string {
	return k.DocumentNumber + string(CheckDigit(k.DocumentNumber)) +
		k.Birth + string(CheckDigit(k.Birth)) +
		k.Expiry + string(CheckDigit(k.Expiry))
}

// ExpiryCandidate is one possible expiry date of a card, with the reason for it.
type ExpiryCandidate struct {
	Expiry Date // zero when the card does not expire
	Note   string
}

// The ages at which a card must be changed: 25, 40 and 60 under the CCCD Law 2014
// (art. 21), with 14 added by the Identity Law 2023. A card issued within the two years
// before one of these ages stays valid until the next one; from 60 it does not expire.
var changeAges = []int{14, 25, 40, 60}

// noExpiryMRZ lists the MRZ expiry values a no-expiry card may carry, most likely first
// (unsure: no reading of a real no-expiry card is on record).
var noExpiryMRZ = []string{"991231", "<<<<<<"}

// ExpiryCandidates computes, from the birth and issue dates, the expiry dates a card may
// carry, the one the law gives first. Uncertain cases add candidates: a birthday on 29
// February (the anniversary in a common year may be 28 February or 1 March), and an
// issue date within a day of a two-year cut-off (counting the cut-off day on either
// side). The result is never empty.
func ExpiryCandidates(birth, issued Date) []ExpiryCandidate {
	age := ageOn(birth, issued)
	primary := expiryRule(birth, issued)
	out := []ExpiryCandidate{primary}
	// Near a cut-off: what would the rule say a day earlier or later?
	for _, shift := range []int{-1, 1} {
		alt := expiryRule(birth, addDays(issued, shift))
		if alt.Expiry != primary.Expiry {
			alt.Note += fmt.Sprintf(" (issue date within a day of the 2-year cut-off, issued at %d)", age)
			out = appendCandidate(out, alt)
		}
	}
	// 29 February birthdays: also try 1 March.
	for _, c := range append([]ExpiryCandidate(nil), out...) {
		if c.Expiry.IsZero() || birth.Month != time.February || birth.Day != 29 || c.Expiry.Month != time.February || c.Expiry.Day != 28 {
			continue
		}
		alt := ExpiryCandidate{Expiry: Date{c.Expiry.Year, time.March, 1}, Note: c.Note + " (29 February birthday counted as 1 March)"}
		out = appendCandidate(out, alt)
	}
	return out
}

func appendCandidate(list []ExpiryCandidate, c ExpiryCandidate) []ExpiryCandidate {
	for _, have := range list {
		if have.Expiry == c.Expiry {
			return list
		}
	}
	return append(list, c)
}

// expiryRule applies the change-age table to one issue date.
func expiryRule(birth, issued Date) ExpiryCandidate {
	age := ageOn(birth, issued)
	for _, change := range changeAges {
		cutoff := birthdayAt(birth, change-2)
		if issued.Before(cutoff) {
			return ExpiryCandidate{
				Expiry: birthdayAt(birth, change),
				Note:   fmt.Sprintf("expiry = %dth birthday (issued at %d)", change, age),
			}
		}
	}
	return ExpiryCandidate{Note: fmt.Sprintf("no expiry (issued at %d)", age)}
}

func addDays(d Date, n int) Date {
	t := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n)
	return Date{t.Year(), t.Month(), t.Day()}
}

// KeysFromQR gives the candidate keys for the card whose QR was scanned: the CAN
// first (for PACE), then the MRZ keys for each expiry candidate, most likely first.
func KeysFromQR(q QR) []AccessKey {
	keys := []AccessKey{{Kind: KeyCAN, CAN: q.ID[6:], Note: "qr: CAN = last 6 digits of the ID"}}
	doc := q.ID[3:]
	for _, c := range ExpiryCandidates(q.Birth, q.Issued) {
		if c.Expiry.IsZero() {
			for _, v := range noExpiryMRZ {
				keys = append(keys, AccessKey{Kind: KeyMRZ, DocumentNumber: doc, Birth: q.Birth.YYMMDD(), Expiry: v,
					Note: "qr: " + c.Note + ", MRZ expiry " + v})
			}
			continue
		}
		keys = append(keys, AccessKey{Kind: KeyMRZ, DocumentNumber: doc, Birth: q.Birth.YYMMDD(), Expiry: c.Expiry.YYMMDD(),
			Note: "qr: " + c.Note})
	}
	return keys
}

// KeysFromID gives the candidate keys when an official typed the 12-digit ID and the
// birth date and, optionally, the expiry date (zero Date when the card shows none):
// the CAN, then MRZ keys for the typed expiry or the no-expiry values.
func KeysFromID(id string, birth, expiry Date) ([]AccessKey, error) {
	can, err := CANFromID(id)
	if err != nil {
		return nil, err
	}
	keys := []AccessKey{{Kind: KeyCAN, CAN: can, Note: "typed: CAN = last 6 digits of the ID"}}
	doc := id[3:]
	if birth.IsZero() {
		return keys, nil
	}
	if !expiry.IsZero() {
		return append(keys, AccessKey{Kind: KeyMRZ, DocumentNumber: doc, Birth: birth.YYMMDD(), Expiry: expiry.YYMMDD(), Note: "typed"}), nil
	}
	for _, v := range noExpiryMRZ {
		keys = append(keys, AccessKey{Kind: KeyMRZ, DocumentNumber: doc, Birth: birth.YYMMDD(), Expiry: v, Note: "typed: no expiry, MRZ expiry " + v})
	}
	return keys, nil
}
