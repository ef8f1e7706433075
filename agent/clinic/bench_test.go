package clinic

import (
	"context"
	"sort"
	"testing"
	"time"

	"motcua-agent/drivers/bhyt"
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
	p50, p99, bp50 := pct(chain, 50), pct(chain, 99), pct(base, 50)
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50_ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99_ms")
	b.ReportMetric(float64(bp50)/float64(time.Millisecond), "gateway_p50_ms")
	b.ReportMetric(float64(p50)/float64(bp50), "p50/gateway")
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := max((len(s)*p+99)/100, 1)
	return s[i-1]
}
