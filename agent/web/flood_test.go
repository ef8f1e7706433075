package web

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/netguard/netguardtest"
)

// TestServesThroughAFloodOfIdleAndSlowConnections holds hundreds of idle keep-alive
// and half-sent connections against the agent from loopback addresses, the legitimate
// client's own among them, and shows /healthz still answered, the connections held
// bounded by the caps, the slow ones cut by the header timeout, and memory bounded.
func TestServesThroughAFloodOfIdleAndSlowConnections(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	f := newFixture(t)
	before := netguardtest.MemInUse()
	g0 := runtime.NumGoroutine()
	idle := []byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	half := []byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	target := strings.TrimPrefix(f.base, "http://")
	const n = 400
	start := time.Now()
	floods := []*netguardtest.Flood{
		netguardtest.Hold(target, "127.0.0.2", n, idle, nil, 0),
		netguardtest.Hold(target, "127.0.0.3", n, half, []byte("X-Slow: 1\r\n"), 500*time.Millisecond),
		netguardtest.Hold(target, "127.0.0.1", n, idle, nil, 0), // the real client's own address
	}
	t.Cleanup(func() {
		for _, fl := range floods {
			fl.Stop()
		}
	})
	dialDone := time.Since(start)
	dialed := 0
	for _, fl := range floods {
		dialed += fl.Dialed
	}
	held := f.srv.Connections()
	during := netguardtest.MemInUse()

	// A real client on the flooded address, a fresh connection per request.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var worst time.Duration
	for range 10 {
		t0 := time.Now()
		resp, err := client.Get(f.base + "/healthz")
		if err != nil {
			t.Fatalf("healthz during the flood: %v (held %+v)", err, f.srv.Connections())
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz during the flood: %d", resp.StatusCode)
		}
		worst = max(worst, time.Since(t0))
	}
	if held.Open > 3*ConnLimits.PerAddress+1 {
		t.Errorf("%d connections held open, caps allow %d per address", held.Open, ConnLimits.PerAddress)
	}
	if held.Refused+held.Evicted == 0 {
		t.Errorf("%d connections dialed and none refused or evicted: %+v", dialed, held)
	}
	if open := floods[0].OpenAtMost(ConnLimits.PerAddress, 5*time.Second); open > ConnLimits.PerAddress {
		t.Errorf("idle flood holds %d connections, over the per-address cap", open)
	}
	// The half-sent requests are cut by the header timeout.
	time.Sleep(6 * time.Second)
	if open := floods[1].OpenAtMost(0, 5*time.Second); open != 0 {
		t.Errorf("%d slow connections still open after the header timeout", open)
	}
	grew := int64(during) - int64(before)
	if grew > 64<<20 {
		t.Errorf("memory grew by %d MiB under the flood", grew>>20)
	}
	t.Logf("flood: %d connections dialed in %s from 3 addresses; server held %d (refused %d, evicted %d idle); "+
		"healthz worst %s over 10 requests; heap+stacks %.1f → %.1f MiB; goroutines %d → %d",
		dialed, dialDone.Round(time.Millisecond), held.Open, held.Refused, held.Evicted, worst.Round(time.Millisecond),
		float64(before)/(1<<20), float64(during)/(1<<20), g0, runtime.NumGoroutine())
}
