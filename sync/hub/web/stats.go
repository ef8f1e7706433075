package web

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// The statisticians' views: places the hub knows, the drill-down from province to
// counter, sites that stopped reporting, and figures in Vietnamese units.

// DefaultStaleAfter is how long a site may go without any of its devices pushing
// before the page flags it. Agents push every minute when they can, but a commune's
// network may be down for a day; two days without a word needs a phone call.
const DefaultStaleAfter = 48 * time.Hour

// staleNote says why a site is flagged, or "" when it reports: "không gửi số liệu từ
// 20/11/2026 (3 ngày)" in the province's time zone, or that it never sent anything.
func staleNote(last *time.Time, now time.Time, after time.Duration, loc *time.Location) string {
	if last == nil {
		return "chưa gửi số liệu lần nào"
	}
	d := now.Sub(*last)
	if d <= after {
		return ""
	}
	return fmt.Sprintf("không gửi số liệu từ %s (%s)", last.In(loc).Format("02/01/2006"), spanVI(d))
}

// spanVI is a long span in its largest whole unit: "3 ngày", "5 giờ", "12 phút".
func spanVI(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%d ngày", int64(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%d giờ", int64(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%d phút", int64(d/time.Minute))
	}
	return fmt.Sprintf("%d giây", int64(d/time.Second))
}

// agoVI says how long ago: "21 giây trước", "3 ngày trước"; "vừa xong" under a second.
func agoVI(d time.Duration) string {
	if d < time.Second {
		return "vừa xong"
	}
	return spanVI(d) + " trước"
}

// isSeconds is a metric that counts seconds: the page shows it as a duration.
func isSeconds(metric string) bool { return strings.HasSuffix(metric, "_seconds") }

// metricName is a metric's Vietnamese label, without the unit for a metric in seconds
// (the page shows those as durations). A metric this hub's vocabulary lacks (a newer
// agent's) is named as such rather than by its key.
func metricName(m string) string {
	d, ok := vocab.Lookup(m)
	if !ok {
		return "Chỉ số chưa có tên trong bộ từ vựng của máy chủ"
	}
	return strings.TrimSuffix(d.Label, " (giây)")
}

// metricValue is a metric's value in the unit a person reads.
func metricValue(metric string, v int64) string {
	if isSeconds(metric) {
		return vocab.Duration(time.Duration(v) * time.Second)
	}
	return vocab.Number(v)
}

// metricOrder is the order of the figures on the page, the agent's dashboard order.
var metricOrder = []string{
	vocab.CheckinsPeople, vocab.Checkins, vocab.Scans, vocab.IdentityVerifications, vocab.IdentityPeople,
	vocab.DossiersReceived, vocab.DossiersDigitized, vocab.DossiersPages,
	vocab.TicketsIssued, vocab.TicketsFirstCalls, vocab.TicketsServed, vocab.TicketsNoShow, vocab.TicketsCancelled,
	vocab.TicketsTransferred, vocab.TicketsRecalls, vocab.TicketsWaitSeconds, vocab.TicketsServiceSeconds,
	vocab.TicketsUnprinted, vocab.Ratings, vocab.RatingsSatisfied,
	vocab.BHYTLookups, vocab.BHYTLookupsOK, vocab.BHYTLookupFailures, vocab.BHYTLookupsOtherAgency, vocab.BHYTLookupsOtherAgencyOK,
	vocab.LodgingListed, vocab.LodgingNotified, vocab.LodgingMissed,
	vocab.GateEntries, vocab.GateExits, vocab.GateExitsUnmatched, vocab.GateUniqueVisitors, vocab.GatePeakOccupancy,
	vocab.GateRefusals, vocab.GateReconciled, vocab.GateManualOpens,
}

// FigureValue is one line of the table of every figure of a period and place: a
// metric's sum, or a figure of the vocabulary computed from the sums (Value nil when
// there is nothing to compute it from).
type FigureValue struct {
	Name  string   `json:"name"`
	Label string   `json:"label"`
	Unit  string   `json:"unit"` // count, seconds or percent
	Value *float64 `json:"value"`
	Text  string   `json:"text"` // as the page says it
	// Computed: a figure of the vocabulary (a ratio, to a tenth), not a metric's sum.
	Computed bool `json:"computed,omitempty"`
}

// figureTable lists every figure of all: the metrics in the page's order (then any this
// hub does not know, by name), then the vocabulary's computed figures.
func figureTable(all figures) []FigureValue {
	var out []FigureValue
	add := func(m string) {
		v := float64(all[m])
		unit := "count"
		if isSeconds(m) {
			unit = "seconds"
		}
		out = append(out, FigureValue{Name: m, Label: metricName(m), Unit: unit, Value: &v, Text: metricValue(m, all[m])})
	}
	known := map[string]bool{}
	for _, m := range metricOrder {
		known[m] = true
		if _, ok := all[m]; ok {
			add(m)
		}
	}
	var rest []string
	for m := range all {
		if !known[m] {
			rest = append(rest, m)
		}
	}
	sort.Strings(rest)
	for _, m := range rest {
		add(m)
	}
	for _, fig := range vocab.Figures() {
		_, num := all[fig.Numerator]
		_, den := all[fig.Denominator]
		if !num && !den {
			continue // nothing of the kind in this period and place (a gate has no queue)
		}
		row := FigureValue{Name: fig.Name, Label: fig.Label, Unit: string(fig.Unit), Text: fig.Say(all), Computed: true}
		if v, ok := fig.Compute(all); ok {
			row.Value = &v
		}
		out = append(out, row)
	}
	return out
}

// drillColumns are the figures each row of the drill-down shows.
var drillColumns = []string{vocab.CheckinsPeople, vocab.DossiersReceived, vocab.DossiersDigitized,
	vocab.TicketsIssued, vocab.TicketsServed, vocab.GateEntries, vocab.BHYTLookups}

// Levels of the drill-down, from the top.
const (
	levelProvince = "province"
	levelCommune  = "commune"
	levelSite     = "site"
	levelCounter  = "counter"
)

var levelTitle = map[string]string{
	levelProvince: "Tỉnh, thành phố", levelCommune: "Xã, phường", levelSite: "Điểm phục vụ", levelCounter: "Quầy",
}

// rowsLevel is the level the drill-down lists under a filter: the one below the
// deepest chosen; "" at a single counter, which has nothing below it.
func rowsLevel(f Filter) string {
	switch {
	case f.Counter != "":
		return ""
	case f.Site != "":
		return levelCounter
	case f.Commune != "":
		return levelSite
	case f.Province != "":
		return levelCommune
	}
	return levelProvince
}

// unnamed is how the page shows a place whose name was never given.
const unnamed = "(chưa đặt tên)"

// siteLabel names a site by its name, or its code and "(chưa đặt tên)".
func siteLabel(code, name string) string {
	if name != "" {
		return name
	}
	return code + " " + unnamed
}

// drillRow is one line of the drill-down table.
type drillRow struct {
	Label string
	Code  string // the site's code under its name
	URL   string // one level down; "" when there is none
	Stale string // why the place is flagged, if it is
	F     figures
}

// drill is the drill-down table at one level.
type drill struct {
	Level, Title string
	Rows         []drillRow
	Total        drillRow
}

// pageLink builds the page's address for a filter, keeping the period and the token.
type pageLink struct {
	period Period
	token  string
}

func (l pageLink) to(f Filter) string {
	return "/?" + placeQuery(l.period, f, l.token).Encode()
}

// placeQuery is what every page link carries: the period, the place chosen and the
// report token.
func placeQuery(p Period, f Filter, token string) url.Values {
	q := url.Values{}
	if p.Kind != "" {
		q.Set("period", p.Kind)
		q.Set("at", p.Label)
	}
	for _, kv := range [][2]string{{"province", f.Province}, {"commune", f.Commune}, {"site", f.Site}, {"counter", f.Counter}, {"token", token}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return q
}

// buildDrill lists the level below the filter: every known place at that level (so a
// silent site shows, with zeros) and every group that has counters.
func (h *Face) buildDrill(ctx context.Context, p Period, f Filter, places []Place, link pageLink, stale map[string]string) (drill, error) {
	lv := rowsLevel(f)
	d := drill{Level: lv, Title: levelTitle[lv], Total: drillRow{Label: "Tổng cộng", F: figures{}}}
	if lv == "" {
		return d, nil
	}
	rep, err := h.Totals(ctx, Query{Period: p, By: []string{lv, "metric"}, Filter: Filter{Province: f.Province, Commune: f.Commune, Site: f.Site}})
	if err != nil {
		return d, err
	}
	byKey := map[string]*drillRow{}
	var order []string
	row := func(key string) *drillRow {
		if r, ok := byKey[key]; ok {
			return r
		}
		r := &drillRow{F: figures{}}
		byKey[key] = r
		order = append(order, key)
		return r
	}
	names := map[string]string{}
	var counterNames map[string]string
	if lv == levelCounter {
		all, err := h.SiteNames(ctx)
		if err != nil {
			return d, err
		}
		counterNames = all[f.Site][wire.NameCounter]
	}
	for _, pl := range places {
		if f.Province != "" && pl.Province != f.Province || f.Commune != "" && pl.Commune != f.Commune || f.Site != "" && pl.Site != f.Site {
			continue
		}
		switch lv {
		case levelProvince:
			row(pl.Province)
		case levelCommune:
			row(pl.Commune)
		case levelSite:
			row(pl.Site)
			names[pl.Site] = pl.Name
		}
	}
	for _, r := range rep.Rows {
		row(r.Keys[0]).F[r.Keys[1]] += r.Value
		d.Total.F[r.Keys[1]] += r.Value
	}
	byGroup := map[string]figures{}
	for k, r := range byKey {
		byGroup[k] = r.F
	}
	within := Filter{Province: f.Province, Commune: f.Commune, Site: f.Site}
	if err := h.FillLegacy(ctx, p, within, lv, byGroup); err != nil {
		return d, err
	}
	if err := h.FillLegacy(ctx, p, within, "", map[string]figures{"": d.Total.F}); err != nil {
		return d, err
	}
	sort.SliceStable(order, func(i, j int) bool {
		if (order[i] == "") != (order[j] == "") {
			return order[j] == "" // the unnamed group last
		}
		return order[i] < order[j]
	})
	for _, key := range order {
		r := byKey[key]
		next := f
		switch lv {
		case levelProvince:
			r.Label, next.Province = key, key
		case levelCommune:
			r.Label, next.Commune = key, key
		case levelSite:
			r.Label, r.Code, next.Site = siteLabel(key, names[key]), key, key
			if names[key] == "" {
				r.Code = ""
			}
			r.Stale = stale[key]
		case levelCounter:
			r.Label, next.Counter = "Quầy "+key, key
			if name := counterNames[key]; name != "" {
				r.Label, r.Code = name, key
			}
		}
		if key == "" && len(r.F) == 0 {
			// An unnamed place with nothing counted: at a national hub, the provincial
			// hub's own enrollment (its rows name their communes and sites).
			continue
		}
		if key != "" {
			r.URL = link.to(next)
		} else if lv == levelCounter {
			r.Label = "Không gắn với quầy nào"
		} else {
			r.Label = "(chưa ghi " + strings.ToLower(levelTitle[lv]) + ")"
		}
		d.Rows = append(d.Rows, *r)
	}
	return d, nil
}

// crumb is one step of the breadcrumb.
type crumb struct{ Label, URL string }

// breadcrumb walks from the whole hub down to the filter; the last step has no link.
func breadcrumb(f Filter, link pageLink, siteName string) []crumb {
	out := []crumb{{"Tất cả", link.to(Filter{})}}
	var at Filter
	if f.Province != "" {
		at.Province = f.Province
		out = append(out, crumb{f.Province, link.to(at)})
	}
	if f.Commune != "" {
		at.Commune = f.Commune
		out = append(out, crumb{f.Commune, link.to(at)})
	}
	if f.Site != "" {
		at.Site = f.Site
		out = append(out, crumb{siteLabel(f.Site, siteName), link.to(at)})
	}
	if f.Counter != "" {
		at.Counter = f.Counter
		out = append(out, crumb{"Quầy " + f.Counter, link.to(at)})
	}
	out[len(out)-1].URL = ""
	return out
}

// chartMetrics are the daily series drawn for the last weeks.
var chartMetrics = []string{vocab.CheckinsPeople, vocab.DossiersDigitized, vocab.TicketsIssued, vocab.GateEntries}

// chartWeeks is how far back the charts reach.
const chartWeeks = 8

// buildCharts draws the daily totals of chartMetrics over the last chartWeeks weeks
// up to today, for the filter.
func (h *Face) buildCharts(ctx context.Context, f Filter) ([]dayChart, error) {
	end := h.today()
	start := end.AddDate(0, 0, -7*chartWeeks+1)
	p := Period{Kind: "day", From: start.Format(time.DateOnly), To: end.Format(time.DateOnly)}
	rep, err := h.Totals(ctx, Query{Period: p, By: []string{"metric", "day"}, Filter: f})
	if err != nil {
		return nil, err
	}
	series := map[string][]int64{}
	for _, m := range chartMetrics {
		series[m] = make([]int64, 7*chartWeeks)
	}
	for _, r := range rep.Rows {
		s, ok := series[r.Keys[0]]
		if !ok {
			continue
		}
		day, err := time.Parse(time.DateOnly, r.Keys[1])
		if err != nil {
			continue
		}
		if i := int(day.Sub(start) / (24 * time.Hour)); i >= 0 && i < len(s) {
			s[i] += r.Value
		}
	}
	out := make([]dayChart, 0, len(chartMetrics))
	for i, m := range chartMetrics {
		out = append(out, buildChart(fmt.Sprintf("chart-%d", i+1), metricName(m), start, series[m]))
	}
	return out, nil
}

// periodVI names a period as the report's title does: "tháng 11/2026",
// "tuần 48/2026 (23/11 – 29/11/2026)", "ngày 23/11/2026".
func periodVI(p Period) string {
	from, err1 := time.Parse(time.DateOnly, p.From)
	to, err2 := time.Parse(time.DateOnly, p.To)
	if err1 != nil || err2 != nil {
		return p.Label
	}
	switch p.Kind {
	case "month":
		return "tháng " + from.Format("01/2006")
	case "week":
		_, w := from.ISOWeek()
		return fmt.Sprintf("tuần %d/%d (%s – %s)", w, to.Year(), from.Format("02/01"), to.Format("02/01/2006"))
	}
	return "ngày " + from.Format("02/01/2006")
}

// periodChoice is one option of the period list.
type periodChoice struct {
	Value, Label string
	Selected     bool
}

// periodChoices offers the last 12 months, 8 weeks and 14 days, and the chosen period
// when it is older.
func periodChoices(now time.Time, cur Period) []periodChoice {
	var out []periodChoice
	add := func(kind, at string) {
		p, err := ParsePeriod(kind, at)
		if err != nil {
			return
		}
		out = append(out, periodChoice{Value: kind + ":" + at, Label: strings.ToUpper(periodVI(p)[:1]) + periodVI(p)[1:],
			Selected: kind == cur.Kind && at == cur.Label})
	}
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 12; i++ {
		add("month", first.AddDate(0, -i, 0).Format("2006-01"))
	}
	for i := 0; i < 8; i++ {
		y, w := now.AddDate(0, 0, -7*i).ISOWeek()
		add("week", fmt.Sprintf("%04d-W%02d", y, w))
	}
	for i := 0; i < 14; i++ {
		add("day", now.AddDate(0, 0, -i).Format(time.DateOnly))
	}
	for _, c := range out {
		if c.Selected {
			return out
		}
	}
	add(cur.Kind, cur.Label)
	out[len(out)-1].Selected = true
	return out
}
