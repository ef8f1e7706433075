package queue

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"math"
	"net/http"
	"strings"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config/vocab"
)

// Report is what the office head reads on the dashboard: one day (tickets per hour,
// waiting time per hour, dossiers digitised per service, the day's alerts) or the last
// 30 days (tickets and average wait per day). Charts are SVG drawn here, so the page
// needs nothing from outside the agent.
type Report struct {
	Day    string   `json:"day"`    // YYYY-MM-DD (the last day for a 30-day report)
	Title  string   `json:"title"`  // Vietnamese, dates as dd/mm/yyyy
	Charts []Chart  `json:"charts"` // in reading order
	Alerts []string `json:"alerts"` // "10:12 · Máy in phiếu không in được phiếu số 1023"
	CSV    string   `json:"csv,omitempty"`
}

// Chart is one titled SVG.
type Chart struct {
	Title string `json:"title"`
	SVG   string `json:"svg"`
}

// RegisterReports adds the report and CSV routes (admin only: admin passes every role
// check, so an unused role is named).
func (a *API) RegisterReports(s *web.Server) {
	s.HandleFunc("GET /api/v1/queue/report", a.report, web.RoleAdmin)
	s.HandleFunc("GET /api/v1/queue/export.csv", a.exportCSV, web.RoleAdmin)
}

func (a *API) report(w http.ResponseWriter, r *http.Request) {
	day, ok := a.queryDay(w, r)
	if !ok {
		return
	}
	var rep Report
	var err error
	if r.URL.Query().Get("days") == "30" {
		rep, err = a.Q.monthReport(r.Context(), day)
	} else {
		rep, err = a.Q.dayReport(r.Context(), day)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, rep)
}

// dayReport draws one day from its events (tickets) and counters (dossiers).
func (q *Queue) dayReport(ctx context.Context, day string) (Report, error) {
	b, err := q.bookOf(ctx, day)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Day: day, Title: "Ngày " + vocab.Day(day), Alerts: []string{}, CSV: "/api/v1/queue/export.csv?day=" + day}
	loc := q.st.Location()
	var issued [24]float64
	var waits [24]map[string]int64 // per hour of issue: the waits and first calls, as the counters keep them
	for _, t := range b.tickets {
		h := t.IssuedAt.In(loc).Hour()
		issued[h]++
		if waits[h] == nil {
			waits[h] = map[string]int64{}
		}
		if !t.FirstCalledAt.IsZero() {
			waits[h][vocab.TicketsWaitSeconds] += waitSeconds(t.IssuedAt, t.FirstCalledAt)
			waits[h][vocab.TicketsFirstCalls]++
		}
	}
	avgWait := vocab.LookupFigure(vocab.FigureAvgWait)
	first, last := 7, 17 // office hours, widened to what happened
	for h := 0; h < 24; h++ {
		if issued[h] > 0 {
			first, last = min(first, h), max(last, h)
		}
	}
	var hours []string
	var perHour, waitHour []float64
	for h := first; h <= last; h++ {
		hours = append(hours, fmt.Sprintf("%02d", h))
		perHour = append(perHour, issued[h])
		avg, _ := avgWait.Compute(waits[h])
		waitHour = append(waitHour, avg/60)
	}
	rep.Charts = append(rep.Charts,
		Chart{Title: "Số phiếu đã phát theo giờ", SVG: barChart(hours, perHour, "giờ", func(v float64) string { return fmt.Sprintf("%.0f", v) })},
		Chart{Title: "Thời gian chờ trung bình theo giờ lấy số (phút)", SVG: barChart(hours, waitHour, "giờ", vocab.Decimal)})
	rows, err := q.st.Counters(ctx, day)
	if err != nil {
		return Report{}, fmt.Errorf("queue: report %s: %w", day, err)
	}
	var names []string
	var digitised []float64
	for _, c := range rows {
		if c.Metric == vocab.DossiersDigitized {
			name := c.Dims[vocab.DimService]
			if s, ok := q.services[name]; ok {
				name = s.Name
			} else if name != "" {
				name = "Dịch vụ " + name
			}
			names = append(names, name)
			digitised = append(digitised, float64(c.Value))
		}
	}
	if len(names) > 0 {
		rep.Charts = append(rep.Charts, Chart{Title: "Hồ sơ đã số hóa theo dịch vụ", SVG: hbarChart(names, digitised)})
	}
	alerts, err := q.alerts(ctx, day)
	if err != nil {
		return Report{}, err
	}
	rep.Alerts = alerts
	return rep, nil
}

// monthReport draws the 30 days that end on day, from the daily counters.
func (q *Queue) monthReport(ctx context.Context, day string) (Report, error) {
	end, _ := time.Parse("2006-01-02", day)
	var labels []string
	var issued, wait []float64
	for i := 29; i >= 0; i-- {
		d := end.AddDate(0, 0, -i).Format("2006-01-02")
		rows, err := q.st.Counters(ctx, d)
		if err != nil {
			return Report{}, fmt.Errorf("queue: report %s: %w", d, err)
		}
		values := map[string]int64{}
		for _, c := range rows {
			if queueMetric(c.Metric) {
				values[c.Metric] += c.Value
			}
		}
		labels = append(labels, d[8:10]+"/"+d[5:7])
		issued = append(issued, float64(values[MetricIssued]))
		avg, _ := vocab.LookupFigure(vocab.FigureAvgWait).Compute(values)
		wait = append(wait, avg/60)
	}
	from := end.AddDate(0, 0, -29).Format("2006-01-02")
	return Report{Day: day, Title: "30 ngày, từ " + vocab.Day(from) + " đến " + vocab.Day(day), Alerts: []string{},
		Charts: []Chart{
			{Title: "Số phiếu đã phát mỗi ngày", SVG: barChart(labels, issued, "ngày", func(v float64) string { return fmt.Sprintf("%.0f", v) })},
			{Title: "Thời gian chờ trung bình mỗi ngày (phút)", SVG: barChart(labels, wait, "ngày", vocab.Decimal)},
		}}, nil
}

// bookOf is today's book, or an earlier day rebuilt from its events.
func (q *Queue) bookOf(ctx context.Context, day string) (*book, error) {
	q.mu.Lock()
	b := q.today(q.now())
	q.mu.Unlock()
	if day == b.day {
		// Read under the lock by the callers that need consistency; a report is a
		// picture, so a copy of the tickets is enough.
		q.mu.Lock()
		defer q.mu.Unlock()
		c := newBook(day)
		for _, n := range b.order {
			t := *b.tickets[n]
			c.tickets[n] = &t
			c.order = append(c.order, n)
		}
		return c, nil
	}
	return q.replay(ctx, day)
}

// KindAlert is a fault of the office's devices worth a line in the day's alert history
// ("Máy in phiếu hết giấy"); its message is Vietnamese and never personal.
const KindAlert = "queue.alert"

// Alert records a device fault for the alert history.
func (q *Queue) Alert(ctx context.Context, message string) error {
	_, err := q.st.Append(ctx, store.Event{Kind: KindAlert, Time: q.now(), Site: q.site, Attrs: map[string]any{"message": message}})
	if err != nil {
		return fmt.Errorf("queue: record alert: %w", err)
	}
	return nil
}

// alerts lists the day's faults a person should know of, oldest first.
func (q *Queue) alerts(ctx context.Context, day string) ([]string, error) {
	start, _ := time.ParseInLocation("2006-01-02", day, q.st.Location())
	evs, err := q.st.Events(ctx, store.EventFilter{Kinds: []string{KindAlert, "queue.ticket.print_failed"},
		Since: start, Until: start.AddDate(0, 0, 1), Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("queue: alerts %s: %w", day, err)
	}
	out := []string{}
	for _, e := range evs {
		what := attrString(e.Attrs, "message")
		if e.Kind != KindAlert {
			n, _ := attrInt(e.Attrs, "number")
			what = "Máy in phiếu không in được phiếu số " + fmt.Sprint(n)
		}
		out = append(out, e.Time.In(q.st.Location()).Format("15:04")+" · "+what)
	}
	return out, nil
}

// exportCSV sends one day's tickets as CSV (UTF-8 with a byte-order mark, so a
// spreadsheet opens the Vietnamese right), headers and states in Vietnamese, times in
// the site's zone. A ticket is a number, a service and times: nothing personal.
func (a *API) exportCSV(w http.ResponseWriter, r *http.Request) {
	day, ok := a.queryDay(w, r)
	if !ok {
		return
	}
	b, err := a.Q.bookOf(r.Context(), day)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hang-cho-`+day+`.csv"`)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	// The wait in whole seconds too: summed and divided by the tickets that have one, it
	// gives the dashboard's average wait exactly.
	cw.Write([]string{"Số thứ tự", "Dịch vụ", "Ưu tiên", "Trạng thái", "Quầy", "Giờ lấy số", "Giờ gọi lần đầu", "Giờ kết thúc", "Số phút chờ", "Số giây chờ"})
	loc := a.Q.st.Location()
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("15:04:05")
	}
	for _, n := range b.order {
		t := b.tickets[n]
		name := t.Service
		if s, ok := a.Q.services[t.Service]; ok {
			name = s.Name
		}
		prio, wait, waitSec := "", "", ""
		if t.Priority {
			prio = "có"
		}
		if !t.FirstCalledAt.IsZero() {
			sec := waitSeconds(t.IssuedAt, t.FirstCalledAt)
			wait, waitSec = vocab.Decimal(float64(sec)/60), fmt.Sprint(sec)
		}
		cw.Write([]string{fmt.Sprint(t.Number), name, prio, stateVI[t.State], t.Counter, at(t.IssuedAt), at(t.FirstCalledAt), at(t.FinishedAt), wait, waitSec})
	}
	cw.Flush()
}

// stateVI names a ticket's state as every page does.
var stateVI = map[State]string{Waiting: "đang chờ", Called: "đang được gọi", Serving: "đang phục vụ", Done: "đã xong",
	NoShow: "vắng mặt", Cancelled: "đã hủy"}

// barChart draws vertical bars, one per label, with the value over each bar.
func barChart(labels []string, values []float64, axis string, format func(float64) string) string {
	const w, h, top, bottom, left = 760.0, 240.0, 24.0, 34.0, 10.0
	peak := 0.0
	for _, v := range values {
		peak = math.Max(peak, v)
	}
	if peak == 0 {
		peak = 1
	}
	n := float64(max(len(values), 1))
	slot := (w - 2*left) / n
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" class="chart">`, w, h)
	fmt.Fprintf(&sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#9aa5b1"/>`, left, h-bottom, w-left, h-bottom)
	every := int(math.Ceil(n / 16)) // at most 16 labels under the axis
	for i, v := range values {
		x := left + float64(i)*slot
		bh := (h - top - bottom) * v / peak
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#0b4f9c"><title>%s %s: %s</title></rect>`,
			x+slot*0.15, h-bottom-bh, slot*0.7, bh, html.EscapeString(axis), html.EscapeString(labels[i]), html.EscapeString(format(v)))
		if v > 0 && slot >= 22 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="#1b1f24">%s</text>`, x+slot/2, h-bottom-bh-4, html.EscapeString(format(v)))
		}
		if i%every == 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="#555">%s</text>`, x+slot/2, h-bottom+16, html.EscapeString(labels[i]))
		}
	}
	sb.WriteString(`</svg>`)
	return sb.String()
}

// hbarChart draws horizontal bars with their names (services have long names).
func hbarChart(names []string, values []float64) string {
	const w, row, label = 760.0, 28.0, 330.0
	peak := 1.0
	for _, v := range values {
		peak = math.Max(peak, v)
	}
	h := row*float64(len(names)) + 8
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" class="chart">`, w, h)
	for i, name := range names {
		y := 4 + float64(i)*row
		bw := (w - label - 60) * values[i] / peak
		if r := []rune(name); len(r) > 44 {
			name = string(r[:43]) + "…"
		}
		fmt.Fprintf(&sb, `<text x="%.0f" y="%.1f" font-size="13" text-anchor="end" fill="#1b1f24">%s</text>`, label-8, y+row/2+4, html.EscapeString(name))
		fmt.Fprintf(&sb, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.1f" fill="#2e7d32"/>`, label, y+4, bw, row-8)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" font-size="12" fill="#1b1f24">%.0f</text>`, label+bw+6, y+row/2+4, values[i])
	}
	sb.WriteString(`</svg>`)
	return sb.String()
}
