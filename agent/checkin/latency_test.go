package checkin

import (
	"context"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/testkit"
)

// BenchmarkScanToEvent plays 20 scans a second into a pty and measures, per scan, the
// time from writing its last byte to its event being durable in the store and
// published (p50, p99). The baseline in the same run is a bare durable append of the
// same event (kind, attributes, counts) to the same store, without the scanner, the
// classifier or the bus, so the ratio shows what the scanner path adds.
func BenchmarkScanToEvent(b *testing.B) {
	f, st, bs, _ := newFlowB(b)
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
	shape, err := f.Handle(ctx, scanner.Scan{Scanner: "lat", Tag: "q1", Purpose: config.ScanForCheckin, Text: card})
	if err != nil {
		b.Fatal(err)
	}
	<-sub.C
	var base []time.Duration
	for i := 0; i < 100; i++ {
		ev := store.Event{Kind: shape.Event.Kind, Site: shape.Event.Site, Counter: shape.Event.Counter,
			Attrs: shape.Event.Attrs, Counts: shape.Event.Counts}
		start := time.Now()
		if _, err := st.Append(ctx, ev); err != nil {
			b.Fatal(err)
		}
		base = append(base, time.Since(start))
	}
	b.ReportMetric(testkit.Ms(testkit.Percentile(lat, 50)), "p50-ms")
	b.ReportMetric(testkit.Ms(testkit.Percentile(lat, 99)), "p99-ms")
	b.ReportMetric(testkit.Ms(testkit.Percentile(base, 50)), "append-p50-ms")
	b.ReportMetric(float64(testkit.Percentile(lat, 50))/float64(testkit.Percentile(base, 50)), "p50-vs-append")
	b.ReportMetric(float64(testkit.Percentile(lat, 99))/float64(testkit.Percentile(base, 99)), "p99-vs-append")
}
