package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// appendRun appends n events from `workers` goroutines and returns throughput and the
// latency of each append.
func appendRun(b *testing.B, maxBatch, workers, n int) (perSec float64, lat []time.Duration) {
	s := openTest(b, b.TempDir(), Options{MaxBatch: maxBatch})
	ctx := context.Background()
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
				_, err := s.Append(ctx, Event{Kind: "queue.ticket.issued", Counter: fmt.Sprint(w), Service: "A",
					Attrs:  map[string]any{"number": i},
					Counts: []Count{{Metric: "tickets.issued", Dims: map[string]string{"service": "A"}, Value: 1}}})
				if err != nil {
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

// naiveRun is the baseline: every appender runs its own transaction per event against
// the same file, as code without a writer goroutine would.
func naiveRun(b *testing.B, workers, n int) (perSec float64, lat []time.Duration) {
	s := openTest(b, b.TempDir(), Options{})
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
				e := &Event{Kind: "queue.ticket.issued", Counter: fmt.Sprint(w), Service: "A", Day: "2026-11-23", Time: t0,
					Counts: []Count{{Metric: "tickets.issued", Dims: map[string]string{"service": "A"}, Op: OpAdd, Value: 1}}}
				if err := s.commitTx([]writeReq{{ev: e, attrs: []byte(fmt.Sprintf(`{"number":%d}`, i))}}); err != nil {
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

func pct(l []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkAppendGroupCommit compares group commit with one transaction per event
// (the baseline: each appender commits its own transaction), both with
// synchronous=FULL and 8 concurrent appenders, in one run. serial-events/s is the writer
// goroutine with batches of one, for reference.
func BenchmarkAppendGroupCommit(b *testing.B) {
	const workers = 8
	for i := 0; i < b.N; i++ {
		baseRate, baseLat := naiveRun(b, workers, 400)
		serialRate, _ := appendRun(b, 1, workers, 400)
		rate, lat := appendRun(b, 256, workers, 4000)
		b.ReportMetric(serialRate, "serial-events/s")
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(baseRate, "baseline-events/s")
		b.ReportMetric(rate/baseRate, "x-throughput")
		b.ReportMetric(float64(pct(lat, 0.50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(pct(lat, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(pct(baseLat, 0.99).Microseconds())/1000, "baseline-p99-ms")
	}
}
