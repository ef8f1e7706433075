package hub

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/netguard"
	"motcua-agent/internal/netguard/netguardtest"
	"motcua-agent/sync/wire"
)

// TestServesPushesThroughAFlood holds, from four loopback addresses, idle keep-alive
// connections, half-sent headers, push bodies trickled for a real device named in
// well-formed headers, and unsigned 4 MiB bodies; a real agent's push from a fifth
// address is still stored, the bodies being read stay within the budget and memory
// stays bounded.
func TestServesPushesThroughAFlood(t *testing.T) {
	forEachBackendInTurn(t, func(t *testing.T) {
		netguardtest.NeedLoopbackAliases(t)
		h, err := newBackend(t).open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		secretHex, err := h.Enroll(context.Background(), Site{Code: "NA-VH"}, "pc1")
		if err != nil {
			t.Fatal(err)
		}
		secret, _ := wire.ParseSecret(secretHex)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := h.Server()
		gl := Listen(ln, srv, netguard.Limits{})
		go srv.Serve(gl)
		defer srv.Close()
		target := ln.Addr().String()
		base := "http://" + target

		before := netguardtest.MemInUse()
		g0 := runtime.NumGoroutine()
		const big = wire.MaxBodyBytes
		bodyHead := func(signed bool) []byte {
			var b bytes.Buffer
			fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: hub\r\nContent-Length: %d\r\n", wire.PushPath, big)
			if signed { // well-formed headers naming a real device; the signature cannot match
				fmt.Fprintf(&b, "%s: pc1\r\n%s: %d\r\n%s: %032x\r\n%s: %064x\r\n", wire.HeaderDevice, wire.HeaderTime, time.Now().Unix(),
					wire.HeaderNonce, 7, wire.HeaderSignature, 9)
			}
			b.WriteString("\r\n")
			b.Write(make([]byte, 16<<10))
			return b.Bytes()
		}
		start := time.Now()
		floods := []*netguardtest.Flood{
			netguardtest.Hold(target, "127.0.0.2", 400, []byte("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"), nil, 0),
			netguardtest.Hold(target, "127.0.0.3", 300, []byte("POST /api/v1/push HTTP/1.1\r\nHost: hub\r\n"), []byte("X-Slow: 1\r\n"), 500*time.Millisecond),
			netguardtest.Hold(target, "127.0.0.4", 200, bodyHead(true), make([]byte, 1024), 200*time.Millisecond),
			netguardtest.Hold(target, "127.0.0.5", 200, bodyHead(false), make([]byte, 64<<10), 100*time.Millisecond),
		}
		defer func() {
			for _, fl := range floods {
				fl.Stop()
			}
		}()
		dialDone := time.Since(start)
		dialed := 0
		for _, fl := range floods {
			dialed += fl.Dialed
		}
		time.Sleep(500 * time.Millisecond) // let the trickles run
		held := gl.Stats()
		during := netguardtest.MemInUse()

		var worst time.Duration
		client := &http.Client{Timeout: 10 * time.Second}
		for i := range 5 {
			body := pushBody(t, "NA-VH", "pc1", snap(time.Now().Format(time.DateOnly), "checkins", int64(i+1), int64(i+1)))
			req, _ := http.NewRequest(http.MethodPost, base+wire.PushPath, bytes.NewReader(body))
			if err := wire.Sign(req, "pc1", secret, body, time.Now()); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("push during the flood: %v (held %+v)", err, gl.Stats())
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("push during the flood: %d", resp.StatusCode)
			}
			worst = max(worst, time.Since(t0))
		}
		var rows int
		h.rdb.QueryRow(`SELECT count(*) FROM counters WHERE device = 'pc1'`).Scan(&rows)
		if rows != 1 {
			t.Fatalf("%d counter rows stored, want 1", rows)
		}
		// The trickled bodies hold what they sent, within the address's budget.
		if got := h.bodies.heldBy("127.0.0.4"); got > DefaultBodyBudgetPerAddress {
			t.Errorf("trickled bodies hold %d bytes, the per-address budget is %d", got, DefaultBodyBudgetPerAddress)
		}
		if open := floods[3].OpenAtMost(0, 5*time.Second); open != 0 {
			t.Errorf("%d unsigned bodies still being read", open)
		}
		if held.Open > 4*DefaultConnLimits.PerAddress+1 {
			t.Errorf("%d connections held", held.Open)
		}
		grew := int64(during) - int64(before)
		if grew > 96<<20 {
			t.Errorf("memory grew by %d MiB under the flood", grew>>20)
		}
		var metrics bytes.Buffer
		h.metrics.reg.WriteText(&metrics)
		busy := 0
		for _, l := range strings.Split(metrics.String(), "\n") {
			if v, ok := strings.CutPrefix(l, `motcua_hub_pushes_total{code="busy"} `); ok {
				busy, _ = strconv.Atoi(v)
			}
		}
		t.Logf("flood: %d connections dialed in %s from 4 addresses; hub held %d (refused %d, evicted %d idle); "+
			"%d trickled bodies refused as over budget; push worst %s over 5; heap+stacks %.1f → %.1f MiB; goroutines %d → %d",
			dialed, dialDone.Round(time.Millisecond), held.Open, held.Refused, held.Evicted, busy, worst.Round(time.Millisecond),
			float64(before)/(1<<20), float64(during)/(1<<20), g0, runtime.NumGoroutine())
	})
}
