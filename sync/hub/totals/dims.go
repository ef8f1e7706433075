package totals

// What a push may write. A device writes only its own site's rows: the dims that place
// a row (site, commune, province, …) come from the enrollment, never from a push, and
// each metric's dims come from the one vocabulary (config/vocab). Dim values are short
// codes, never a person's ID number or name: the hub shows them on its page and in its
// reports, and a value is all a device controls there.

import (
	"fmt"
	"regexp"
	"strconv"

	"motcua-agent/sync/wire"
)

// MaxDimCodeLen is the longest dim value a device may give (wire.MaxDimCodeLen).
const MaxDimCodeLen = wire.MaxDimCodeLen

// maxDigitRun is the longest run of digits a dim value may hold (wire.MaxDigitRun).
const maxDigitRun = wire.MaxDigitRun

// CheckPlacement says why a push writes outside its sender's place: a metric outside the
// vocabulary, a dim the metric does not have (a reserved one above all), or a value that
// is not a short code. kind is the sender's enrolled kind: a provincial hub may also
// name its sites and communes.
func CheckPlacement(push *wire.PushRequest, kind string) error {
	// Names of another site's codes come only from a provincial hub naming its sites;
	// an agent names its own (and a site it does not hold would grow the table for free).
	for i, n := range push.Names {
		if n.Site != "" && n.Site != push.Site && kind != KindHub {
			return fmt.Errorf("name %d: names site %q: a device names its own site's codes only", i, n.Site)
		}
	}
	for i := range push.Snapshots {
		if err := CheckRow(push.Snapshots[i].Metric, push.Snapshots[i].Dims, kind); err != nil {
			return fmt.Errorf("snapshot %d: %w", i, err)
		}
	}
	return nil
}

// CheckRow is CheckPlacement for one row (wire.CheckRow, the check the agent's sync
// client also applies before it sends, so a row the hub would refuse never holds back
// the rows sent with it).
func CheckRow(metric string, dims map[string]string, kind string) error {
	return wire.CheckRow(metric, dims, kind == KindHub)
}

// MaskDigitRuns replaces every run of more than maxDigitRun digits in a heartbeat's
// texts with "#": a device's state is shown on the fleet page, and an ID number typed
// or read into a device's error text must not be. The heartbeat is not refused for it:
// it would hold back the counters it travels with.
func MaskDigitRuns(hb *wire.Heartbeat) {
	if hb == nil {
		return
	}
	hb.Version = maskText(hb.Version)
	for i := range hb.Devices {
		d := &hb.Devices[i]
		d.Name, d.Kind, d.State, d.Detail = maskText(d.Name), maskText(d.Kind), maskText(d.State), maskText(d.Detail)
	}
	if c := hb.Config; c != nil {
		c.Version, c.Refused, c.Reason = maskText(c.Version), maskText(c.Refused), maskText(c.Reason)
	}
	if u := hb.Update; u != nil {
		u.Running, u.Trial, u.Version, u.Reason = maskText(u.Running), maskText(u.Trial), maskText(u.Version), maskText(u.Reason)
	}
}

// idShaped is a run of digits longer than maxDigitRun.
var idShaped = regexp.MustCompile(`[0-9]{` + strconv.Itoa(maxDigitRun+1) + `,}`)

func maskText(s string) string { return idShaped.ReplaceAllString(s, "#") }
