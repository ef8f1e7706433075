package wire

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"motcua-agent/config/vocab"
)

// MaxDimCodeLen is the longest dim value a device may give (a service code, a counter, a
// lane, an hour, a reason: none comes near it).
const MaxDimCodeLen = 32

// MaxDigitRun is the longest run of digits a dim value may hold: a CMND has 9 digits, a
// CCCD 12, a health-insurance card 13 after its letters; a service code or an hour a few.
const MaxDigitRun = 8

// CheckRow says why a row may not be pushed: a metric outside the vocabulary, a dim the
// metric does not have (a reserved one above all: the hub derives a row's place from
// its sender's enrollment), or a value that is not a short code (never an ID number or
// a name). fromHub: the sender is a provincial hub, which also places its rows by site
// and commune. The hub refuses a push holding such a row whole; the agent's sync
// client leaves such a row out (and says so) rather than hold back the rest.
func CheckRow(metric string, dims map[string]string, fromHub bool) error {
	allowed, ok := vocab.PushDims(metric)
	if !ok {
		return fmt.Errorf("metric %q is not in this hub's vocabulary", metric)
	}
	for k, v := range dims {
		placement := slices.Contains(vocab.Placement, k)
		switch {
		case placement && fromHub:
			if err := checkPlaceValue(k, v); err != nil {
				return err
			}
			continue
		case slices.Contains(vocab.Reserved, k):
			return fmt.Errorf("dimension %q is the hub's own (it comes from the enrollment, never from a push)", k)
		case !slices.Contains(allowed, k):
			return fmt.Errorf("metric %q has no dimension %q", metric, k)
		}
		if err := checkCode(k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkCode accepts a short code: letters, digits, '.', '_', ':', '-' (ASCII), no long
// run of digits. It never echoes the value: it may be what it must not be.
func checkCode(k, v string) error {
	if len(v) > MaxDimCodeLen || !ValidName(v) {
		return fmt.Errorf("dimension %s: the value is not a short code (at most %d letters, digits, '.', '_', ':', '-')", k, MaxDimCodeLen)
	}
	return checkDigitRun(k, v)
}

// checkPlaceValue accepts a site code, or a commune's name as a province enrolled it
// (letters with diacritics, digits, spaces and punctuation), never ID-shaped.
func checkPlaceValue(k, v string) error {
	if k == vocab.DimSite {
		if !ValidName(v) {
			return fmt.Errorf("dimension %s: the value is not a site code", k)
		}
		return checkDigitRun(k, v)
	}
	if v == "" || len(v) > MaxDimValueLen || !utf8.ValidString(v) {
		return fmt.Errorf("dimension %s: the value is not a commune's name", k)
	}
	for _, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) && !unicode.IsPunct(r) && r != ' ' {
			return fmt.Errorf("dimension %s: the value is not a commune's name", k)
		}
	}
	return checkDigitRun(k, v)
}

func checkDigitRun(k, v string) error {
	run := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			if run++; run > MaxDigitRun {
				return fmt.Errorf("dimension %s: the value has more than %d digits in a row (an ID number is never a dimension)", k, MaxDigitRun)
			}
		} else {
			run = 0
		}
	}
	return nil
}
