package queue

// The office head's report per officer: served, average and 90th-percentile service
// time, idle time while signed in, no-shows, transfers, satisfaction and response rate.
// Officers are people: these figures are read from the local record on this PC only
// and are never counted into the daily counters that go upstream.

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config/vocab"
)

// OfficerStats are one officer's figures over a period. Times are in seconds.
type OfficerStats struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Served        int            `json:"served"`
	AvgServiceSec *float64       `json:"avg_service_s"`
	P90ServiceSec float64        `json:"p90_service_s"`
	SignedInSec   int64          `json:"signed_in_s"`
	IdleSec       int64          `json:"idle_s"`
	NoShows       int            `json:"no_shows"`
	Transfers     int            `json:"transfers"`
	Ratings       map[string]int `json:"ratings_by_level"`
	RatingsTotal  int            `json:"ratings"`
	Satisfaction  *float64       `json:"satisfaction_pct"`
	ResponseRate  *float64       `json:"response_rate_pct"`

	values  map[string]int64
	serving []float64
}

// OfficersReport is the report of a period of days ending on Day.
type OfficersReport struct {
	From     string         `json:"from"`
	Day      string         `json:"day"`
	Officers []OfficerStats `json:"officers"`
}

// officerKinds are the events the report reads.
var officerKinds = []string{KindSignedIn, KindSignedOut, KindCalled, KindFinished, KindNoShow, KindTransferred, KindCancelled, KindRated}

// OfficersReport computes the figures of each officer over days days ending on day.
func (q *Queue) OfficersReport(ctx context.Context, day string, days int) (OfficersReport, error) {
	end, err := time.ParseInLocation("2006-01-02", day, q.st.Location())
	if err != nil {
		return OfficersReport{}, refuse(http.StatusBadRequest, "Ngày không hợp lệ.", "bad day %q", day)
	}
	start := end.AddDate(0, 0, 1-days)
	rep := OfficersReport{From: start.Format("2006-01-02"), Day: day, Officers: []OfficerStats{}}
	by := map[string]*OfficerStats{}
	get := func(id string) *OfficerStats {
		o := by[id]
		if o == nil {
			o = &OfficerStats{ID: id, values: map[string]int64{}, Ratings: map[string]int{}}
			if c, ok := q.officerByID(id); ok {
				o.Name = c.Name
			}
			by[id] = o
		}
		return o
	}
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if err := q.officersDay(ctx, d, get); err != nil {
			return OfficersReport{}, err
		}
	}
	for _, o := range by {
		o.Served = int(o.values[vocab.TicketsServed])
		o.RatingsTotal = int(o.values[vocab.Ratings])
		o.AvgServiceSec = figure(vocab.FigureAvgService, o.values)
		o.P90ServiceSec = p90(o.serving)
		o.Satisfaction = figure(vocab.FigureSatisfaction, o.values)
		o.ResponseRate = figure(vocab.FigureResponseRate, o.values)
		rep.Officers = append(rep.Officers, *o)
	}
	// The staff list's order, then anyone since removed from it, by id.
	rank := map[string]int{}
	for i, o := range q.Officers() {
		rank[o.ID] = i + 1
	}
	sort.Slice(rep.Officers, func(i, j int) bool {
		ri, rj := rank[rep.Officers[i].ID], rank[rep.Officers[j].ID]
		if ri != rj && ri != 0 && rj != 0 {
			return ri < rj
		}
		if (ri == 0) != (rj == 0) {
			return ri != 0
		}
		return rep.Officers[i].ID < rep.Officers[j].ID
	})
	return rep, nil
}

// officersDay adds one day's events to the officers' figures. Idle time is the time
// signed in at a counter with no ticket called or being served there.
func (q *Queue) officersDay(ctx context.Context, day time.Time, get func(string) *OfficerStats) error {
	dayEnd := day.AddDate(0, 0, 1)
	if now := q.now(); now.Before(dayEnd) {
		dayEnd = now
	}
	type session struct {
		officer string
		since   time.Time
		busy    time.Duration
	}
	at := map[string]*session{}            // counter → who is signed in there
	open := map[string]map[int]time.Time{} // counter → tickets called there → since
	end := func(counter string, t time.Time) {
		s := at[counter]
		if s == nil {
			return
		}
		// A ticket still open when the officer leaves is busy time up to then (and the
		// next officer's from their sign-in).
		for _, since := range open[counter] {
			s.busy += t.Sub(maxTime(since, s.since))
		}
		o := get(s.officer)
		signed := t.Sub(s.since)
		o.SignedInSec += int64(signed / time.Second)
		o.IdleSec += int64(max(signed-s.busy, 0) / time.Second)
		delete(at, counter)
	}
	closeTicket := func(counter string, n int, t time.Time) {
		since, ok := open[counter][n]
		if !ok {
			return
		}
		delete(open[counter], n)
		if s := at[counter]; s != nil {
			s.busy += t.Sub(maxTime(since, s.since))
		}
	}
	f := store.EventFilter{Kinds: officerKinds, Since: day.Add(-time.Hour), Until: day.AddDate(0, 0, 1).Add(time.Hour), Limit: 1000}
	dayName := day.Format("2006-01-02")
	for {
		evs, err := q.st.Events(ctx, f)
		if err != nil {
			return fmt.Errorf("queue: officers' report %s: %w", dayName, err)
		}
		for _, e := range evs {
			f.AfterSeq = e.Seq
			if e.Day != dayName {
				continue
			}
			staff, n, level, err := officerFacts(e)
			if err != nil {
				q.log.Warn("queue: officers' report: skipped an event", "err", err)
				continue
			}
			switch e.Kind {
			case KindSignedIn:
				end(e.Counter, e.Time)
				for c, s := range at {
					if s.officer == staff {
						end(c, e.Time)
					}
				}
				at[e.Counter] = &session{officer: staff, since: e.Time}
				continue
			case KindSignedOut:
				end(e.Counter, e.Time)
				continue
			case KindCalled:
				for c := range open {
					delete(open[c], n) // called elsewhere: no longer open there
				}
				if open[e.Counter] == nil {
					open[e.Counter] = map[int]time.Time{}
				}
				open[e.Counter][n] = e.Time
			case KindFinished, KindNoShow, KindTransferred, KindCancelled:
				closeTicket(e.Counter, n, e.Time)
			}
			if staff == "" {
				continue
			}
			o := get(staff)
			switch e.Kind {
			case KindFinished:
				for _, c := range e.Counts {
					if c.Metric == vocab.TicketsServed || c.Metric == vocab.TicketsServiceSeconds {
						o.values[c.Metric] += c.Value
					}
					if c.Metric == vocab.TicketsServiceSeconds {
						o.serving = append(o.serving, float64(c.Value))
					}
				}
			case KindNoShow:
				o.NoShows++
			case KindTransferred:
				o.Transfers++
			case KindRated:
				o.values[vocab.Ratings]++
				o.Ratings[strconv.Itoa(level)]++
				if satisfied(level) {
					o.values[vocab.RatingsSatisfied]++
				}
			}
		}
		if len(evs) < f.Limit {
			break
		}
	}
	// The day's end (or now, today) ends every sign-in still open.
	for c := range at {
		end(c, dayEnd)
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// officersPeriod reads ?day= and ?days= (1..31, default 1).
func (a *API) officersPeriod(w http.ResponseWriter, r *http.Request) (OfficersReport, bool) {
	day, ok := a.queryDay(w, r)
	if !ok {
		return OfficersReport{}, false
	}
	days := 1
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 31 {
			web.WriteError(w, http.StatusBadRequest, "days must be 1..31", "Số ngày không hợp lệ (từ 1 đến 31).")
			return OfficersReport{}, false
		}
		days = n
	}
	rep, err := a.Q.OfficersReport(r.Context(), day, days)
	if err != nil {
		writeErr(w, err)
		return OfficersReport{}, false
	}
	return rep, true
}

// registerOfficers adds the officers' report, its CSV and its page (the office head's
// token only).
func (a *API) registerOfficers(s *web.Server) {
	s.HandleFunc("GET /api/v1/queue/officers", func(w http.ResponseWriter, r *http.Request) {
		if rep, ok := a.officersPeriod(w, r); ok {
			web.WriteJSON(w, http.StatusOK, rep)
		}
	}, web.RoleAdmin)
	s.HandleFunc("GET /api/v1/queue/officers.csv", a.officersCSV, web.RoleAdmin)
}

// officersCSV sends the report as CSV (UTF-8 with a byte-order mark), headers in
// Vietnamese, times in minutes with a decimal comma.
func (a *API) officersCSV(w http.ResponseWriter, r *http.Request) {
	rep, ok := a.officersPeriod(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="can-bo-`+rep.From+`-`+rep.Day+`.csv"`)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"Mã cán bộ", "Họ và tên", "Từ ngày", "Đến ngày", "Đã phục vụ", "Thời gian phục vụ trung bình (phút)",
		"9/10 lượt phục vụ không quá (phút)", "Thời gian đăng nhập (phút)", "Thời gian chờ việc (phút)", "Vắng mặt", "Chuyển",
		"Lượt đánh giá", "Mức 1", "Mức 2", "Mức 3", "Mức 4", "Mức 5", "Tỷ lệ hài lòng (%)", "Tỷ lệ được đánh giá (%)"})
	minutes := func(sec float64) string { return vocab.Decimal(sec / 60) }
	pct := func(v *float64) string {
		if v == nil {
			return ""
		}
		return vocab.Decimal(*v)
	}
	for _, o := range rep.Officers {
		avg := ""
		if o.AvgServiceSec != nil {
			avg = minutes(*o.AvgServiceSec)
		}
		row := []string{o.ID, o.Name, vocab.Day(rep.From), vocab.Day(rep.Day), strconv.Itoa(o.Served), avg, minutes(o.P90ServiceSec),
			minutes(float64(o.SignedInSec)), minutes(float64(o.IdleSec)), strconv.Itoa(o.NoShows), strconv.Itoa(o.Transfers),
			strconv.Itoa(o.RatingsTotal)}
		for l := 1; l <= 5; l++ {
			row = append(row, strconv.Itoa(o.Ratings[strconv.Itoa(l)]))
		}
		cw.Write(append(row, pct(o.Satisfaction), pct(o.ResponseRate)))
	}
	cw.Flush()
}

// officerFacts are what the officers' report reads of one event: the officer (staff
// id), the ticket's number and a rating's level.
func officerFacts(e store.Event) (staff string, number, level int, err error) {
	if e.Kind == KindSignedIn || e.Kind == KindSignedOut {
		var a SignInAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return "", 0, 0, fmt.Errorf("event %d (%s): %w", e.Seq, e.Kind, err)
		}
		return a.Staff, 0, 0, nil
	}
	a, err := ticketAttrsOf(e)
	if err != nil {
		return "", 0, 0, fmt.Errorf("event %d (%s): %w", e.Seq, e.Kind, err)
	}
	if r, ok := a.(*RatedAttrs); ok {
		level = r.Level
	}
	return a.ticket().Staff, a.ticket().Number, level, nil
}
