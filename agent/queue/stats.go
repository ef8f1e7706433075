package queue

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config/vocab"
)

// GroupStats are the figures of one service, one counter or the whole office for a day.
// The counts and averages are the day's counters (the very numbers the hub receives),
// with the averages computed by the vocabulary's figures; only the tickets waiting now
// and the 90th percentiles come from the tickets themselves. Times are in seconds.
type GroupStats struct {
	Key           string  `json:"key"`
	Name          string  `json:"name,omitempty"`
	Issued        int     `json:"issued"`
	FirstCalls    int     `json:"first_calls"`
	Served        int     `json:"served"`
	NoShows       int     `json:"no_shows"`
	Cancelled     int     `json:"cancelled"`
	Transferred   int     `json:"transferred"`
	Recalls       int     `json:"recalls"`
	WaitingNow    int     `json:"waiting_now"`
	AvgWaitSec    float64 `json:"avg_wait_s"`
	P90WaitSec    float64 `json:"p90_wait_s"`
	AvgServiceSec float64 `json:"avg_service_s"`
	P90ServiceSec float64 `json:"p90_service_s"`
	// Ratings are the citizens' ratings by canonical level ("1".."5"); the shares are
	// the vocabulary's figures (in percent), absent when there is nothing to divide.
	// Only the office head (admin) is given them: a console asks for the statistics
	// after every action, and a rating must never reach the officer live.
	Ratings         map[string]int `json:"ratings_by_level,omitempty"`
	RatingsTotal    int            `json:"ratings,omitempty"`
	SatisfactionPct *float64       `json:"satisfaction_pct,omitempty"`
	ResponseRatePct *float64       `json:"response_rate_pct,omitempty"`
	// Values are the group's queue metrics, summed (what the figures are computed from).
	Values         map[string]int64 `json:"-"`
	waits, serving []float64
}

// Say is one of the vocabulary's figures for the group, as a person reads it ("–" when
// there is none).
func (g GroupStats) Say(figure string) string { return vocab.LookupFigure(figure).Say(g.Values) }

// Stats are a day's figures.
type Stats struct {
	Day      string       `json:"day"`
	Total    GroupStats   `json:"total"`
	Services []GroupStats `json:"services"`
	Counters []GroupStats `json:"counters"`
}

// Stats computes a day's figures ("" for today) from the day's counters and tickets.
func (q *Queue) Stats(ctx context.Context, day string) (Stats, error) {
	q.mu.Lock()
	b := q.today(q.now())
	if day == "" || day == b.day {
		// Counters and tickets read under the same lock that orders every change, so
		// the two cannot be a call apart.
		rows, err := q.st.Counters(ctx, b.day)
		var s Stats
		if err == nil {
			s = q.statsOf(b, rows, true)
		}
		q.mu.Unlock()
		if err != nil {
			return Stats{}, fmt.Errorf("queue: stats %s: %w", b.day, err)
		}
		return s, nil
	}
	q.mu.Unlock()
	past, err := q.replay(ctx, day)
	if err != nil {
		return Stats{}, err
	}
	rows, err := q.st.Counters(ctx, day)
	if err != nil {
		return Stats{}, fmt.Errorf("queue: stats %s: %w", day, err)
	}
	return q.statsOf(past, rows, false), nil
}

// queueMetric is a metric the queue counts.
func queueMetric(m string) bool {
	return strings.HasPrefix(m, "tickets.") || m == vocab.Ratings || m == vocab.RatingsSatisfied
}

func (q *Queue) statsOf(b *book, rows []store.CounterRow, today bool) Stats {
	newGroup := func(key, name string) *GroupStats {
		return &GroupStats{Key: key, Name: name, Values: map[string]int64{}, Ratings: map[string]int{}}
	}
	total := newGroup("total", "")
	svc := map[string]*GroupStats{}
	ctr := map[string]*GroupStats{}
	for _, s := range q.cfg.Services {
		svc[s.Code] = newGroup(s.Code, s.Name)
	}
	for _, c := range q.cfg.Counters {
		ctr[c.ID] = newGroup(c.ID, c.Location)
	}
	group := func(m map[string]*GroupStats, k string) *GroupStats {
		if k == "" {
			return nil
		}
		g := m[k]
		if g == nil { // a service or counter since removed from the config
			g = newGroup(k, "")
			m[k] = g
		}
		return g
	}
	// groups lists the groups a ticket's count or time belongs to.
	groups := func(service, counter string) []*GroupStats {
		out := []*GroupStats{total}
		for _, g := range []*GroupStats{group(svc, service), group(ctr, counter)} {
			if g != nil {
				out = append(out, g)
			}
		}
		return out
	}
	cancelsCounted := false
	for _, r := range rows {
		if !queueMetric(r.Metric) {
			continue
		}
		cancelsCounted = cancelsCounted || r.Metric == vocab.TicketsCancelled
		for _, g := range groups(r.Dims[vocab.DimService], r.Dims[vocab.DimCounter]) {
			g.Values[r.Metric] += r.Value
			if r.Metric == vocab.Ratings {
				g.Ratings[r.Dims[vocab.DimLevel]] += int(r.Value)
			}
		}
	}
	for _, t := range b.tickets {
		if t.State == Waiting && today {
			for _, g := range groups(t.Service, "") {
				g.WaitingNow++
			}
		}
		if !t.FirstCalledAt.IsZero() {
			for _, g := range groups(t.firstService, t.firstCounter) {
				g.waits = append(g.waits, float64(waitSeconds(t.IssuedAt, t.FirstCalledAt)))
			}
		}
		if t.State == Done {
			from := t.StartedAt
			if from.IsZero() {
				from = t.CalledAt
			}
			for _, g := range groups(t.Service, t.ServedBy) {
				g.serving = append(g.serving, float64(t.FinishedAt.Sub(from)/time.Second))
			}
		}
		if t.State == Cancelled && !cancelsCounted {
			// A day kept before cancellations were counted: the tickets say it.
			for _, g := range groups(t.Service, t.Counter) {
				g.Values[vocab.TicketsCancelled]++
			}
		}
	}
	out := Stats{Day: b.day, Services: []GroupStats{}, Counters: []GroupStats{}}
	finish := func(g *GroupStats) GroupStats {
		v := g.Values
		g.Issued, g.FirstCalls, g.Served = int(v[vocab.TicketsIssued]), int(v[vocab.TicketsFirstCalls]), int(v[vocab.TicketsServed])
		g.NoShows, g.Cancelled = int(v[vocab.TicketsNoShow]), int(v[vocab.TicketsCancelled])
		g.Transferred, g.Recalls = int(v[vocab.TicketsTransferred]), int(v[vocab.TicketsRecalls])
		g.AvgWaitSec, _ = vocab.LookupFigure(vocab.FigureAvgWait).Compute(v)
		g.AvgServiceSec, _ = vocab.LookupFigure(vocab.FigureAvgService).Compute(v)
		g.P90WaitSec, g.P90ServiceSec = p90(g.waits), p90(g.serving)
		g.RatingsTotal = int(v[vocab.Ratings])
		g.SatisfactionPct = figure(vocab.FigureSatisfaction, v)
		g.ResponseRatePct = figure(vocab.FigureResponseRate, v)
		return *g
	}
	out.Total = finish(total)
	for _, g := range svc {
		out.Services = append(out.Services, finish(g))
	}
	for _, g := range ctr {
		out.Counters = append(out.Counters, finish(g))
	}
	// Config order (the order the office chose), then anything since removed, by key.
	rank := map[string]int{}
	for i, s := range q.cfg.Services {
		rank["s"+s.Code] = i + 1
	}
	for i, c := range q.cfg.Counters {
		rank["c"+c.ID] = i + 1
	}
	order := func(gs []GroupStats, prefix string) {
		sort.Slice(gs, func(i, j int) bool {
			ri, rj := rank[prefix+gs[i].Key], rank[prefix+gs[j].Key]
			if ri == 0 || rj == 0 || ri == rj {
				if (ri == 0) != (rj == 0) {
					return ri != 0
				}
				return gs[i].Key < gs[j].Key
			}
			return ri < rj
		})
	}
	order(out.Services, "s")
	order(out.Counters, "c")
	return out
}

// withoutRatings drops the rating figures, for every role but admin.
func (s *Stats) withoutRatings() {
	strip := func(g *GroupStats) {
		g.Ratings, g.RatingsTotal, g.SatisfactionPct, g.ResponseRatePct = nil, 0, nil, nil
	}
	strip(&s.Total)
	for i := range s.Services {
		strip(&s.Services[i])
	}
	for i := range s.Counters {
		strip(&s.Counters[i])
	}
}

// figure is a vocabulary figure of values, nil when there is nothing to divide.
func figure(name string, values map[string]int64) *float64 {
	v, ok := vocab.LookupFigure(name).Compute(values)
	if !ok {
		return nil
	}
	return &v
}

// p90 is the 90th percentile (nearest rank) of whole seconds.
func p90(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(math.Ceil(0.9*float64(len(s))))-1]
}
