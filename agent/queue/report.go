package queue

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/chart"
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
		Chart{Title: "Số phiếu đã phát theo giờ", SVG: barChart("q-issued-hour", "Số phiếu đã phát theo giờ", hours, perHour, "giờ", 0)},
		Chart{Title: "Thời gian chờ trung bình theo giờ lấy số (phút)", SVG: barChart("q-wait-hour", "Thời gian chờ trung bình theo giờ lấy số (phút)", hours, waitHour, "giờ", 1)})
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
		rep.Charts = append(rep.Charts, Chart{Title: "Hồ sơ đã số hóa theo dịch vụ", SVG: hbarChart("q-digitized-service", "Hồ sơ đã số hóa theo dịch vụ", names, digitised)})
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
			{Title: "Số phiếu đã phát mỗi ngày", SVG: barChart("q-issued-day", "Số phiếu đã phát mỗi ngày", labels, issued, "ngày", 0)},
			{Title: "Thời gian chờ trung bình mỗi ngày (phút)", SVG: barChart("q-wait-day", "Thời gian chờ trung bình mỗi ngày (phút)", labels, wait, "ngày", 1)},
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
	_, err := q.st.Append(ctx, store.Event{Kind: KindAlert, Time: q.now(), Site: q.site, Attrs: store.AttrsOf(AlertAttrs{Message: message})})
	if err != nil {
		return fmt.Errorf("queue: record alert: %w", err)
	}
	return nil
}

// alerts lists the day's faults a person should know of, oldest first.
func (q *Queue) alerts(ctx context.Context, day string) ([]string, error) {
	start, _ := time.ParseInLocation("2006-01-02", day, q.st.Location())
	evs, err := q.st.Events(ctx, store.EventFilter{Kinds: []string{KindAlert, KindPrintFailed},
		Since: start, Until: start.AddDate(0, 0, 1), Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("queue: alerts %s: %w", day, err)
	}
	out := []string{}
	for _, e := range evs {
		var what string
		if e.Kind == KindAlert {
			var a AlertAttrs
			if err := e.Attrs.Decode(&a); err != nil {
				return nil, fmt.Errorf("queue: alerts %s: event %d: %w", day, e.Seq, err)
			}
			what = a.Message
		} else {
			var a PrintAttrs
			if err := e.Attrs.Decode(&a); err != nil {
				return nil, fmt.Errorf("queue: alerts %s: event %d: %w", day, e.Seq, err)
			}
			what = "Máy in phiếu không in được phiếu số " + fmt.Sprint(a.Number)
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

// barChart draws vertical bars, one per label, with the value over each bar
// (internal/chart: the drawer the hub's page uses too). decimals is 0 for counts, 1
// for averages; counts are summed in the chart's summary.
func barChart(id, title string, labels []string, values []float64, axis string, decimals int) string {
	c := chart.Bars{ID: id, Title: title, Unit: "phiếu", Decimals: decimals, Total: decimals == 0, Values: true}
	if decimals > 0 {
		c.Unit = "phút"
	}
	for i, v := range values {
		c.Bars = append(c.Bars, chart.Bar{Label: labels[i], Name: axis + " " + labels[i], Value: v})
	}
	return c.SVG()
}

// hbarChart draws horizontal bars with their names (services have long names).
func hbarChart(id, title string, names []string, values []float64) string {
	c := chart.Rows{ID: id, Title: title}
	for i, n := range names {
		c.Rows = append(c.Rows, chart.Bar{Name: n, Value: values[i]})
	}
	return c.SVG()
}
