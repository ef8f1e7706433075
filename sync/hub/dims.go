package hub

// What a push may write. A device writes only its own site's rows: the dims that place
// a row (site, commune, province, …) come from the enrollment, never from a push, and
// each metric's dims come from the one vocabulary (config/vocab). Dim values are short
// codes, never a person's ID number or name: the hub shows them on its page and in its
// reports, and a value is all a device controls there.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// MaxDimCodeLen is the longest dim value a device may give (a service code, a counter, a
// lane, an hour, a reason: none comes near it).
const MaxDimCodeLen = 32

// maxDigitRun is the longest run of digits a dim value may hold: a CMND has 9 digits, a
// CCCD 12, a health-insurance card 13 after its letters; a service code or an hour a few.
const maxDigitRun = 8

// checkPlacement says why a push writes outside its sender's place: a metric outside the
// vocabulary, a dim the metric does not have (a reserved one above all), or a value that
// is not a short code. kind is the sender's enrolled kind: a provincial hub may also
// name its sites and communes.
func checkPlacement(push *wire.PushRequest, kind string) error {
	// Names of another site's codes come only from a provincial hub naming its sites;
	// an agent names its own (and a site it does not hold would grow the table for free).
	for i, n := range push.Names {
		if n.Site != "" && n.Site != push.Site && kind != KindHub {
			return fmt.Errorf("name %d: names site %q: a device names its own site's codes only", i, n.Site)
		}
	}
	for i := range push.Snapshots {
		if err := checkRow(push.Snapshots[i].Metric, push.Snapshots[i].Dims, kind); err != nil {
			return fmt.Errorf("snapshot %d: %w", i, err)
		}
	}
	return nil
}

// checkRow is checkPlacement for one row.
func checkRow(metric string, dims map[string]string, kind string) error {
	allowed, ok := vocab.PushDims(metric)
	if !ok {
		return fmt.Errorf("metric %q is not in this hub's vocabulary", metric)
	}
	for k, v := range dims {
		placement := slices.Contains(vocab.Placement, k)
		switch {
		case placement && kind == KindHub:
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
	if len(v) > MaxDimCodeLen || !wire.ValidName(v) {
		return fmt.Errorf("dimension %s: the value is not a short code (at most %d letters, digits, '.', '_', ':', '-')", k, MaxDimCodeLen)
	}
	return checkDigitRun(k, v)
}

// checkPlaceValue accepts a site code, or a commune's name as a province enrolled it
// (letters with diacritics, digits, spaces and punctuation), never ID-shaped.
func checkPlaceValue(k, v string) error {
	if k == vocab.DimSite {
		if !wire.ValidName(v) {
			return fmt.Errorf("dimension %s: the value is not a site code", k)
		}
		return checkDigitRun(k, v)
	}
	if v == "" || len(v) > wire.MaxDimValueLen || !utf8.ValidString(v) {
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
			if run++; run > maxDigitRun {
				return fmt.Errorf("dimension %s: the value has more than %d digits in a row (an ID number is never a dimension)", k, maxDigitRun)
			}
		} else {
			run = 0
		}
	}
	return nil
}

// maskDigitRuns replaces every run of more than maxDigitRun digits in a heartbeat's
// texts with "#": a device's state is shown on the fleet page, and an ID number typed
// or read into a device's error text must not be. The heartbeat is not refused for it:
// it would hold back the counters it travels with.
func maskDigitRuns(hb *wire.Heartbeat) {
	if hb == nil {
		return
	}
	hb.Version = maskText(hb.Version)
	for i := range hb.Devices {
		d := &hb.Devices[i]
		d.Name, d.Kind, d.State, d.Detail = maskText(d.Name), maskText(d.Kind), maskText(d.State), maskText(d.Detail)
	}
}

// idShaped is a run of digits longer than maxDigitRun.
var idShaped = regexp.MustCompile(`[0-9]{` + strconv.Itoa(maxDigitRun+1) + `,}`)

func maskText(s string) string { return idShaped.ReplaceAllString(s, "#") }
