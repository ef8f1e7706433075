package cccd

import (
	"fmt"
	"time"

	"motcua-agent/drivers/emrtd"
)

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
// Each key's Label says where it came from, in English and without personal data, so
// the one that opened the chip can be recorded.
func KeysFromQR(q QR) []emrtd.AccessKey {
	keys := []emrtd.AccessKey{{CAN: q.ID[6:], Label: "qr: CAN = last 6 digits of the ID"}}
	doc := q.ID[3:]
	for _, c := range ExpiryCandidates(q.Birth, q.Issued) {
		if c.Expiry.IsZero() {
			for _, v := range noExpiryMRZ {
				keys = append(keys, emrtd.AccessKey{DocumentNumber: doc, DateOfBirth: q.Birth.YYMMDD(), DateOfExpiry: v,
					Label: "qr: " + c.Note + ", MRZ expiry " + v})
			}
			continue
		}
		keys = append(keys, emrtd.AccessKey{DocumentNumber: doc, DateOfBirth: q.Birth.YYMMDD(), DateOfExpiry: c.Expiry.YYMMDD(),
			Label: "qr: " + c.Note})
	}
	return keys
}

// KeysFromID gives the candidate keys when an official typed the 12-digit ID and,
// optionally, the birth date and the expiry date (zero Date when the card shows
// none): the CAN, then MRZ keys for the typed expiry or the no-expiry values.
func KeysFromID(id string, birth, expiry Date) ([]emrtd.AccessKey, error) {
	can, err := CANFromID(id)
	if err != nil {
		return nil, err
	}
	keys := []emrtd.AccessKey{{CAN: can, Label: "typed: CAN = last 6 digits of the ID"}}
	doc := id[3:]
	if birth.IsZero() {
		return keys, nil
	}
	if !expiry.IsZero() {
		return append(keys, emrtd.AccessKey{DocumentNumber: doc, DateOfBirth: birth.YYMMDD(), DateOfExpiry: expiry.YYMMDD(), Label: "typed"}), nil
	}
	for _, v := range noExpiryMRZ {
		keys = append(keys, emrtd.AccessKey{DocumentNumber: doc, DateOfBirth: birth.YYMMDD(), DateOfExpiry: v, Label: "typed: no expiry, MRZ expiry " + v})
	}
	return keys, nil
}
