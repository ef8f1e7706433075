package checkin

import (
	"context"
	"sort"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/scanner"
)

// BenchmarkScanToEvent plays 20 scans a second into a pty and measures, per scan, the
// time from writing its last byte to its event being durable in the store and
// published (p50, p99). The baseline in the same run is a bare durable append, so the
// ratio shows what the scanner path adds.
func BenchmarkScanToEvent(b *testing.B) {
	f, _, bs, _ := newFlowB(b)
	sub := bs.Subscribe(1024, Topic)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, scans := ptyScanner(b, ctx)
	go f.Run(ctx, scans)

	n := max(b.N, 100)
	var lat []time.Duration
	tick := time.NewTicker(50 * time.Millisecond) // 20 scans a second
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		<-tick.C
		payload := card
		start := time.Now()
		if err := sim.Scan(payload, []byte("\r")); err != nil {
			b.Fatal(err)
		}
		select {
		case <-sub.C:
			lat = append(lat, time.Since(start))
		case <-time.After(10 * time.Second):
			b.Fatal("no event")
		}
	}
	b.StopTimer()
	// Baseline: the durable append alone, same store, same event shape.
	var base []time.Duration
	for i := 0; i < 100; i++ {
		start := time.Now()
		if _, err := f.Handle(ctx, scanner.Scan{Scanner: "lat", Tag: "q1", Purpose: config.ScanForCheckin, Text: card}); err != nil {
			b.Fatal(err)
		}
		<-sub.C
		base = append(base, time.Since(start))
	}
	p := func(d []time.Duration, q float64) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[min(int(float64(len(s))*q), len(s)-1)]
	}
	b.ReportMetric(float64(p(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(p(base, 0.5).Microseconds())/1000, "append-p50-ms")
	b.ReportMetric(float64(p(lat, 0.99))/float64(p(base, 0.99)), "p99-vs-append")
}
