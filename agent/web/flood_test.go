package web

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/netguard"
	"motcua-agent/internal/netguard/netguardtest"
	"motcua-agent/internal/testkit"
)

// TestServesThroughAFloodOfIdleAndSlowConnections holds hundreds of idle keep-alive
// and half-sent connections against the agent from loopback addresses, the legitimate
// client's own among them, and shows /healthz still answered, the connections held
// bounded by the caps, the slow ones cut by the header timeout, and memory bounded.
func TestServesThroughAFloodOfIdleAndSlowConnections(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	f := newFixture(t)
	lim := DefaultConnLimits()
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
	// The keep-alive flood's requests are answered (the connections go idle, and may
	// give way) before the real client comes: until then its own address's slots are
	// all busy with requests, which nothing may cut.
	testkit.Eventually(t, 10*time.Second, func() bool { return f.srv.Connections().Idle >= 2*lim.PerAddress },
		"the keep-alive floods' requests to be answered: %s", func() string { return fmt.Sprintf("%+v", f.srv.Connections()) })
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
	if held.Open > 3*lim.PerAddress+1 {
		t.Errorf("%d connections held open, caps allow %d per address", held.Open, lim.PerAddress)
	}
	if held.Refused+held.Evicted == 0 {
		t.Errorf("%d connections dialed and none refused or evicted: %+v", dialed, held)
	}
	if open := floods[0].OpenAtMost(lim.PerAddress, 5*time.Second); open > lim.PerAddress {
		t.Errorf("idle flood holds %d connections, over the per-address cap", open)
	}
	// The half-sent requests are cut by the header timeout (5 s after they came).
	if open := floods[1].OpenAtMost(0, 11*time.Second); open != 0 {
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

// clientFrom is an HTTP client whose connections come from a loopback alias standing
// in for one machine on the office LAN, a fresh connection per request.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 3 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// TestAFloodCostsTheFlooderNotTheOffice: a slowloris from one LAN address, then slow
// bodies from nine more filling every slot, while this PC's own browser (127.0.0.1),
// an office kiosk (http.office_devices) and an unrelated LAN client keep being served:
// the flood takes only the untrusted share, and when that is full the client holding
// the most gives way. Limits are lowered so the test opens hundreds, not thousands, of
// connections.
func TestAFloodCostsTheFlooderNotTheOffice(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	lim := netguard.Limits{PerAddress: 16, Total: 64, Reserved: 16}
	f := newFixtureWith(t, func(o *Options) {
		o.Limits = lim
		o.Config.HTTP.OfficeDevices = []string{"127.0.0.20"}
	})
	f.srv.HandleFunc("POST /api/v1/test-write", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusCreated, map[string]int{"number": 1})
	}, RoleKiosk)
	target := strings.TrimPrefix(f.base, "http://")
	half := []byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	var floods []*netguardtest.Flood
	t.Cleanup(func() {
		for _, fl := range floods {
			fl.Stop()
		}
	})
	probe := func(what string) {
		t.Helper()
		for _, ip := range []string{"127.0.0.1", "127.0.0.20", "127.0.0.30"} {
			c := clientFrom(ip)
			for i := range 5 {
				req, _ := http.NewRequest("POST", f.base+"/api/v1/test-write", strings.NewReader("{}"))
				req.Header.Set("Authorization", "Bearer "+f.token[RoleKiosk])
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s: request %d from %s: %v (held %+v)", what, i, ip, err, f.srv.Connections())
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("%s: request %d from %s: %d", what, i, ip, resp.StatusCode)
				}
			}
		}
	}

	// One address, ten times its share of half-sent requests.
	floods = append(floods, netguardtest.Hold(target, "127.0.0.2", 10*lim.PerAddress, half, []byte("X-Slow: 1\r\n"), 500*time.Millisecond))
	accepted := func() int64 { return f.srv.Connections().Accepted }
	netguardtest.WaitAccepted(t, accepted, floods[0].Dialed)
	if held := f.srv.Connections(); held.Open > lim.PerAddress || held.Refused == 0 {
		t.Fatalf("one address holds %+v, its share is %d", held, lim.PerAddress)
	}
	probe("slowloris from one address")

	// Nine more addresses send bodies a byte at a time: far more than every slot.
	slowBody := []byte("POST /api/v1/test-write HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{")
	for i := 3; i <= 11; i++ {
		floods = append(floods, netguardtest.Hold(target, fmt.Sprintf("127.0.0.%d", i), lim.PerAddress, slowBody, []byte(" "), 500*time.Millisecond))
	}
	dialed := 15 // the first probes' own connections
	for _, fl := range floods {
		dialed += fl.Dialed
	}
	netguardtest.WaitAccepted(t, accepted, dialed)
	held := f.srv.Connections()
	if held.Open > lim.Total {
		t.Fatalf("%d connections held, the total is %d", held.Open, lim.Total)
	}
	if held.Open < lim.Total-lim.Reserved {
		t.Fatalf("the flood holds only %d connections: it did not fill the untrusted share (%+v)", held.Open, held)
	}
	probe("slow bodies from nine addresses")
	after := f.srv.Connections()
	if after.Displaced == 0 {
		t.Errorf("no flooder's connection gave way: %+v", after)
	}
	t.Logf("flood: slowloris 160 from one address, slow bodies 144 from nine; held %d of %d (refused %d, evicted %d, displaced %d); 30 of 30 writes from this PC, a kiosk and a LAN client served",
		after.Open, lim.Total, after.Refused, after.Evicted, after.Displaced)
}
