package checkin

import (
	"context"
	"os/exec"
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
	if _, err := exec.LookPath("socat"); err != nil {
		b.Skip("socat not installed")
	}
	f, _, bs, _ := newFlowB(b)
	sub := bs.Subscribe(1024, Topic)
	defer sub.Close()
	pair := scanner.NewPTYPair(b.TempDir(), "lat")
	if err := pair.Start(); err != nil {
		b.Fatal(err)
	}
	defer pair.Stop()
	sim, err := scanner.OpenSimulator(pair)
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scans := make(chan scanner.Scan, 64)
	c := config.Scanner{Name: "lat", Counter: "q1", Port: pair.Device, Purpose: config.ScanForCheckin,
		Suffix: "cr", IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600}
	go (&scanner.Reader{Config: c}).Run(ctx, scans)
	go f.Run(ctx, scans)
	time.Sleep(200 * time.Millisecond) // the reader opens the port

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
