package totals

import (
	"context"

	"motcua-agent/config/vocab"
)

// FillLegacy corrects, per group, the denominators of the figures older agents did not
// count (vocab.Figure.Legacy), across a period that spans an agent's upgrade: each
// site's day that counted the denominator keeps it, each that did not stands in its
// legacy metrics (vocab.SumDays), so every day's numerator is divided by that day's
// own count, as the agent's own 30-day chart does. groups are keyed by the by key's
// value ("" for the whole filter when by is "").
func (h *Totals) FillLegacy(ctx context.Context, p Period, f Filter, by string, groups map[string]Figures) error {
	for _, fig := range vocab.Figures() {
		if len(fig.Legacy) == 0 {
			continue
		}
		mixed := false
		for _, g := range groups {
			if _, ok := g[fig.Denominator]; ok {
				mixed = true // at least one group counted it: worth a closer look
			}
		}
		if !mixed {
			continue
		}
		keys := []string{"site", "day"}
		if by != "" && by != "site" {
			keys = append([]string{by}, keys...)
		}
		units := map[string]map[string]map[string]int64{} // group → site and day → metric → value
		for _, m := range append([]string{fig.Denominator}, fig.Legacy...) {
			ff := f
			ff.Metric = m
			rep, err := h.Sum(ctx, Query{Period: p, By: keys, Filter: ff})
			if err != nil {
				return err
			}
			for _, r := range rep.Rows {
				group := ""
				if by != "" {
					group = r.Keys[0]
				}
				unit := r.Keys[len(r.Keys)-2] + "\x00" + r.Keys[len(r.Keys)-1]
				if units[group] == nil {
					units[group] = map[string]map[string]int64{}
				}
				if units[group][unit] == nil {
					units[group][unit] = map[string]int64{}
				}
				units[group][unit][m] += r.Value
			}
		}
		for group, byUnit := range units {
			g := groups[group]
			if g == nil {
				continue
			}
			if _, ok := g[fig.Denominator]; !ok {
				continue
			}
			days := make([]map[string]int64, 0, len(byUnit))
			for _, u := range byUnit {
				days = append(days, u)
			}
			g[fig.Denominator] = vocab.SumDays(days)[fig.Denominator]
		}
	}
	return nil
}
