package store

import (
	"context"
	"slices"
	"time"
)

// Tally is one day's counters as the flows' "today" figures read them: a metric's
// total, its largest row, or its totals per value of one dimension. It is the one fold
// of the record's counters into a flow's figures, so a flow's page, its dashboard block
// and the agent's counters table add up the same rows the same way.
type Tally struct {
	Day  string
	Rows []CounterRow
}

// TallyDay reads the counters of the site day that holds t.
func (s *Store) TallyDay(ctx context.Context, t time.Time) (Tally, error) {
	day := s.Day(t)
	rows, err := s.Counters(ctx, day)
	if err != nil {
		return Tally{Day: day}, err
	}
	return Tally{Day: day, Rows: rows}, nil
}

// Total sums the rows of the metrics.
func (t Tally) Total(metrics ...string) int64 {
	var n int64
	for _, r := range t.Rows {
		if slices.Contains(metrics, r.Metric) {
			n += r.Value
		}
	}
	return n
}

// Peak is the largest row of the metric (a peak is kept per dimension, never summed).
func (t Tally) Peak(metric string) int64 {
	var n int64
	for _, r := range t.Rows {
		if r.Metric == metric {
			n = max(n, r.Value)
		}
	}
	return n
}

// By sums the rows of the metrics per value of dim (rows without dim under "").
func (t Tally) By(dim string, metrics ...string) map[string]int64 {
	m := map[string]int64{}
	for _, r := range t.Rows {
		if slices.Contains(metrics, r.Metric) {
			m[r.Dims[dim]] += r.Value
		}
	}
	return m
}
