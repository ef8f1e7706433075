package clinic

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"motcua-agent/drivers/bhyt"
	"motcua-agent/internal/testkit"
)

// BenchmarkScanToAnswer measures the time from a QR scan's last byte written to the
// station scanner's pty to the look-up's answer published for the page: the scanner
// driver, the check-in flow (one durable event), the clinic flow, the gateway simulator
// over loopback HTTP, and the look-up's durable event. The baseline is the bare gateway
// round trip of the same client on the same simulator (token in hand), so the ratio is
// what the agent adds to the gateway's own time. A real gateway takes 5–30 s.
func BenchmarkScanToAnswer(b *testing.B) {
	r := newRig(b)
	people := []bhyt.SimCard{r.card("000"), r.card("010"), r.card("003"), r.card("120")}
	n := 40 * b.N
	var chain, base []time.Duration
	for i := 0; i < n; i++ {
		r.clock.Add(3 * time.Minute) // every scan a new look-up, not a repeat
		start := time.Now()
		r.scan(stations[i%2], qr(people[i%len(people)]))
		r.next(StateDone)
		chain = append(chain, time.Since(start))
	}
	lan, _ := r.accounts.Operator("dd-lan")
	c := &bhyt.Client{BaseURL: r.cfg.Clinic.Gateway, Account: lan, Now: r.clock.Now}
	for i := 0; i < n; i++ {
		p := people[i%len(people)]
		start := time.Now()
		if _, err := c.Check(context.Background(), bhyt.Query{Number: p.ID, Name: p.Name, Birth: p.Birth}); err != nil {
			b.Fatal(err)
		}
		base = append(base, time.Since(start))
	}
	p50, p99, bp50 := testkit.Percentile(chain, 50), testkit.Percentile(chain, 99), testkit.Percentile(base, 50)
	b.ReportMetric(testkit.Ms(p50), "p50_ms")
	b.ReportMetric(testkit.Ms(p99), "p99_ms")
	b.ReportMetric(testkit.Ms(bp50), "gateway_p50_ms")
	b.ReportMetric(float64(p50)/float64(bp50), "p50/gateway")
}

// BenchmarkPendingMemory (issue 25): the gateway down, 3,000 look-ups asked for. With
// the default bound (300) the people held in memory stay at the bound; the baseline is
// the same look-ups with the bound raised to 10,000 (every one kept, as before the
// bound). It reports the people whose data is in memory and the heap grown meanwhile
// (which also holds the record's cache and the 3,000 look-ups' events).
func BenchmarkPendingMemory(b *testing.B) {
	for _, bound := range []int{300, 10000} {
		b.Run(fmt.Sprintf("max_pending=%d", bound), func(b *testing.B) {
			var held, people float64
			for range b.N {
				r := newRig(b)
				r.stopFlow()
				r.cfg.Clinic.MaxPending = bound
				r.startFlow()
				r.sim.Close()
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				p := r.card("000")
				for i := range 3000 {
					p.ID = fmt.Sprintf("0990999%05d", i)
					if _, err := r.flow.Submit(r.ctx, Request{Station: stations[i%2], Source: SourceTyped, Number: p.ID, Name: p.Name, Birth: p.Birth}); err != nil {
						b.Fatal(err)
					}
				}
				r.waitQueue(min(bound, 3000))
				runtime.GC()
				runtime.ReadMemStats(&after)
				held += float64(after.HeapInuse) - float64(before.HeapInuse)
				people += float64(len(r.heldPeople()))
			}
			b.ReportMetric(held/float64(b.N)/1024, "heap_KiB")
			b.ReportMetric(people/float64(b.N), "people_in_memory")
		})
	}
}
