package queue

import (
	"context"
	"math"
	"sort"
)

// GroupStats are the figures of one service, one counter or the whole office for a day.
// Times are in seconds; wait runs from issue to first call, service from start (or
// call, when nobody pressed start) to finish.
type GroupStats struct {
	Key            string  `json:"key"`
	Name           string  `json:"name,omitempty"`
	Issued         int     `json:"issued"`
	Served         int     `json:"served"`
	NoShows        int     `json:"no_shows"`
	Cancelled      int     `json:"cancelled"`
	WaitingNow     int     `json:"waiting_now"`
	AvgWaitSec     float64 `json:"avg_wait_s"`
	P90WaitSec     float64 `json:"p90_wait_s"`
	AvgServiceSec  float64 `json:"avg_service_s"`
	P90ServiceSec  float64 `json:"p90_service_s"`
	waits, serving []float64
}

// Stats are a day's figures.
type Stats struct {
	Day      string       `json:"day"`
	Total    GroupStats   `json:"total"`
	Services []GroupStats `json:"services"`
	Counters []GroupStats `json:"counters"`
}

// Stats computes a day's figures ("" for today) from the day's tickets.
func (q *Queue) Stats(ctx context.Context, day string) (Stats, error) {
	q.mu.Lock()
	b := q.today(q.now())
	if day == "" || day == b.day {
		s := q.statsOf(b, true)
		q.mu.Unlock()
		return s, nil
	}
	q.mu.Unlock()
	past, err := q.replay(ctx, day)
	if err != nil {
		return Stats{}, err
	}
	return q.statsOf(past, false), nil
}

func (q *Queue) statsOf(b *book, today bool) Stats {
	total := &GroupStats{Key: "total"}
	svc := map[string]*GroupStats{}
	ctr := map[string]*GroupStats{}
	for _, s := range q.cfg.Services {
		svc[s.Code] = &GroupStats{Key: s.Code, Name: s.Name}
	}
	for _, c := range q.cfg.Counters {
		ctr[c.ID] = &GroupStats{Key: c.ID, Name: c.Location}
	}
	group := func(m map[string]*GroupStats, k string) *GroupStats {
		if k == "" {
			return nil
		}
		g := m[k]
		if g == nil { // a service or counter since removed from the config
			g = &GroupStats{Key: k}
			m[k] = g
		}
		return g
	}
	for _, t := range b.tickets {
		s := group(svc, t.Service)
		c := group(ctr, t.Counter)
		if t.State == Done {
			c = group(ctr, t.ServedBy)
		}
		gs := []*GroupStats{total, s}
		if c != nil {
			gs = append(gs, c)
		}
		for i, g := range gs {
			if i < 2 {
				g.Issued++
			}
			switch t.State {
			case Done:
				g.Served++
				from := t.StartedAt
				if from.IsZero() {
					from = t.CalledAt
				}
				g.serving = append(g.serving, t.FinishedAt.Sub(from).Seconds())
			case NoShow:
				g.NoShows++
			case Cancelled:
				g.Cancelled++
			case Waiting:
				if today && i < 2 {
					g.WaitingNow++
				}
			}
			if !t.FirstCalledAt.IsZero() {
				g.waits = append(g.waits, t.FirstCalledAt.Sub(t.IssuedAt).Seconds())
			}
		}
	}
	out := Stats{Day: b.day, Services: []GroupStats{}, Counters: []GroupStats{}}
	finish := func(g *GroupStats) GroupStats {
		g.AvgWaitSec, g.P90WaitSec = meanP90(g.waits)
		g.AvgServiceSec, g.P90ServiceSec = meanP90(g.serving)
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

// meanP90 returns the mean and the 90th percentile (nearest rank), rounded to 0.1 s.
func meanP90(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	rank := int(math.Ceil(0.9*float64(len(s)))) - 1
	round := func(v float64) float64 { return math.Round(v*10) / 10 }
	return round(sum / float64(len(s))), round(s[rank])
}
