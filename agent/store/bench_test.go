package store

import (
	"context"
	"fmt"
	"motcua-agent/internal/testkit"
	"sync"
	"testing"
	"time"
)

// drive runs append(w, i) for i < n from `workers` goroutines and returns throughput
// and the latency of each call.
func drive(b *testing.B, workers, n int, append func(w, i int) error) (perSec float64, lat []time.Duration) {
	lat = make([]time.Duration, n)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				if err := append(w, i); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}(w)
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), lat
}

// appendRun is the store's own Append with batches of at most maxBatch.
func appendRun(b *testing.B, maxBatch, workers, n int) (float64, []time.Duration) {
	s := openTest(b, b.TempDir(), Options{MaxBatch: maxBatch})
	ctx := context.Background()
	return drive(b, workers, n, func(w, i int) error {
		_, err := s.Append(ctx, Event{Kind: "queue.ticket.issued", Counter: fmt.Sprint(w), Service: "A",
			Attrs:  AttrsOf(map[string]any{"number": i}),
			Counts: []Count{{Metric: "tickets.issued", Dims: map[string]string{"service": "A"}, Value: 1}}})
		return err
	})
}

// naiveRun is the baseline: every appender runs its own transaction per event against
// the same file, as code without a writer goroutine would.
func naiveRun(b *testing.B, workers, n int) (float64, []time.Duration) {
	s := openTest(b, b.TempDir(), Options{})
	return drive(b, workers, n, func(w, i int) error { return naiveAppend(s, w, i, time.Now()) })
}

// naiveAppend is one event and its counter in a transaction of its own, on whichever
// pooled connection is free.
func naiveAppend(s *Store, w, i int, t time.Time) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO events(time_ns, day, boot, kind, site, counter, service, attrs, counts) VALUES(?,?,?,?,?,?,?,?,?)`,
		t.UnixNano(), "2026-11-23", s.boot, "queue.ticket.issued", "", fmt.Sprint(w), "A", fmt.Sprintf(`{"number":%d}`, i),
		`[{"m":"tickets.issued","d":{"service":"A"},"op":"add","v":1}]`)
	if err != nil {
		return err
	}
	seq, _ := res.LastInsertId()
	if _, err := tx.Exec(`INSERT INTO counters(day, metric, dims, epoch, op, value, revision) VALUES(?,?,?,?,'add',?,?)
		ON CONFLICT(day, metric, dims, epoch) DO UPDATE SET value = value + excluded.value, revision = excluded.revision`,
		"2026-11-23", "tickets.issued", `{"service":"A"}`, s.boot, 1, seq); err != nil {
		return err
	}
	return tx.Commit()
}

// BenchmarkAppendGroupCommit measures group commit (the writer goroutine committing
// whatever is queued, up to 256 events, in one transaction) with 8 concurrent
// appenders and synchronous=FULL. Its baseline is what a competent engineer would write
// simply: one writer goroutine and one connection, one transaction per event (the same
// store with batches of one): x-vs-one-per-tx. For reference only, naive-events/s is
// every appender running its own transaction on a pooled connection, which also pays
// SQLite's lock-wait sleeps and flatters any comparison.
func BenchmarkAppendGroupCommit(b *testing.B) {
	const workers = 8
	for i := 0; i < b.N; i++ {
		naiveRate, _ := naiveRun(b, workers, 400)
		baseRate, baseLat := appendRun(b, 1, workers, 400)
		rate, lat := appendRun(b, 256, workers, 4000)
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(baseRate, "one-per-tx-events/s")
		b.ReportMetric(rate/baseRate, "x-vs-one-per-tx")
		b.ReportMetric(naiveRate, "naive-events/s")
		b.ReportMetric(float64(testkit.Percentile(lat, 50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(testkit.Percentile(lat, 99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(testkit.Percentile(baseLat, 99).Microseconds())/1000, "one-per-tx-p99-ms")
	}
}
