package hub

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/netguard"
	"motcua-agent/internal/netguard/netguardtest"
	"motcua-agent/sync/wire"
)

// The attacks of issue 23, each through real HTTP on loopback.

// siteTotal is a site's total of a metric over all time (every site's when site is
// empty), as the reports sum it.
func (th *testHub) siteTotal(t *testing.T, site, metric string) int64 {
	t.Helper()
	rep, err := th.Totals(context.Background(), Query{Period: Period{From: "2000-01-01", To: "2100-01-01"},
		Filter: Filter{Site: site, Metric: metric}})
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, r := range rep.Rows {
		v += r.Value
	}
	return v
}

// An enrolled device cannot write another site's rows, nor name a commune or a
// province, nor put ID- or name-shaped values in a dimension; such a push is refused
// whole and stores nothing, while a real agent's dims are taken.
func TestPushWritesOnlyItsOwnSite(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		demo := th.enroll(t, "demo-site", "demo-pc")
		evil := th.enroll(t, "evil-site", "evil-pc")
		const day = "2026-11-20"
		ok := signedRequest{device: "demo-pc", secret: demo, body: pushBody(t, "demo-site", "demo-pc",
			snap(day, vocab.DossiersReceived, 4, 1, "service", "13", "counter", "Q1", "channel", "online"),
			snap(day, vocab.TicketsServed, 2, 1, "service", "13", "counter", "quay-2"))}
		if status, er, _ := th.do(t, ok); status != http.StatusOK {
			t.Fatalf("a real agent's push: %d %+v", status, er)
		}
		good := snap(day, vocab.DossiersReceived, 1, 5, "service", "12")
		cases := []struct {
			name string
			bad  wire.Snapshot
		}{
			{"another site", snap(day, vocab.DossiersReceived, 999_999, 7, "site", "demo-site", "service", "13")},
			{"a made-up commune", snap(day, vocab.DossiersReceived, 5, 7, "commune", "Xã Không Có", "service", "13")},
			{"a province", snap(day, vocab.DossiersReceived, 5, 7, "province", "Hà Nội")},
			{"the device", snap(day, vocab.DossiersReceived, 5, 7, "device", "demo-pc")},
			{"an ID number", snap(day, vocab.DossiersReceived, 5, 7, "service", "079203004599")},
			{"an ID number in a code", snap(day, vocab.TicketsServed, 5, 7, "counter", "Q-079203004599")},
			{"a name", snap(day, vocab.TicketsServed, 5, 7, "counter", "Nguyễn Văn Tèo 079203004598")},
			{"a dim the metric lacks", snap(day, vocab.GateEntries, 5, 7, "service", "13")},
			{"a metric outside the vocabulary", snap(day, "made.up", 5, 7)},
			{"a long code", snap(day, vocab.TicketsIssued, 5, 7, "service", strings.Repeat("a", MaxDimCodeLen+1))},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, er, _ := th.do(t, signedRequest{device: "evil-pc", secret: evil,
					body: pushBody(t, "evil-site", "evil-pc", good, c.bad)})
				if status != http.StatusUnprocessableEntity || er.Code != wire.CodeInvalid {
					t.Fatalf("got %d %q (%s), want 422 %q", status, er.Code, er.Message, wire.CodeInvalid)
				}
				if strings.Contains(er.Message, "079203004") || strings.Contains(er.Message, "Nguyễn") {
					t.Errorf("the refusal echoes the value: %s", er.Message)
				}
			})
		}
		if got := th.siteTotal(t, "demo-site", vocab.DossiersReceived); got != 4 {
			t.Errorf("demo-site's dossiers received: %d, want 4", got)
		}
		if got := th.siteTotal(t, "evil-site", vocab.DossiersReceived); got != 0 {
			t.Errorf("evil-site's dossiers received: %d, want 0 (a refused push stores nothing)", got)
		}
		rep, err := th.Totals(context.Background(), Query{Period: Period{From: "2000-01-01", To: "2100-01-01"}, By: []string{"commune", "site"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Rows {
			if r.Keys[0] != "Phường Vinh Hưng" || r.Keys[1] != "demo-site" {
				t.Errorf("the report places a row at %v", r.Keys)
			}
		}
	})
}

// At a national hub only a provincial hub enrolled as such names sites and communes,
// and never a province (it comes from its enrollment); an agent enrolled there may not.
func TestOnlyAnUpstreamHubNamesItsSites(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		ctx := context.Background()
		raw, err := th.EnrollUpstream(ctx, Site{Code: "40", Province: "Tỉnh Nghệ An"}, "hub-40")
		if err != nil {
			t.Fatal(err)
		}
		prov, _ := wire.ParseSecret(raw)
		agent := th.enroll(t, "HN-1", "pc1")
		const day = "2026-11-20"
		row := snap(day, vocab.DossiersReceived, 7, 3, "site", "VP-1", "commune", "Phường Vinh Phú", "service", "13")
		if status, er, _ := th.do(t, signedRequest{device: "hub-40", secret: prov, body: pushBody(t, "40", "hub-40", row)}); status != http.StatusOK {
			t.Fatalf("the provincial hub's push: %d %+v", status, er)
		}
		for name, sr := range map[string]signedRequest{
			"an agent naming a site": {device: "pc1", secret: agent, body: pushBody(t, "HN-1", "pc1", row)},
			"the hub naming a province": {device: "hub-40", secret: prov, body: pushBody(t, "40", "hub-40",
				snap(day, vocab.DossiersReceived, 7, 4, "site", "VP-1", "province", "Hà Nội"))},
			"an ID number as a commune": {device: "hub-40", secret: prov, body: pushBody(t, "40", "hub-40",
				snap(day, vocab.DossiersReceived, 7, 4, "site", "VP-1", "commune", "Xã 079203004599"))},
		} {
			if status, er, _ := th.do(t, sr); status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %+v, want 422", name, status, er)
			}
		}
		rep, err := th.Totals(ctx, Query{Period: Period{From: day, To: day}, By: []string{"province", "commune", "site"},
			Filter: Filter{Metric: vocab.DossiersReceived}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 1 || fmt.Sprint(rep.Rows[0].Keys) != "[Tỉnh Nghệ An Phường Vinh Phú VP-1]" || rep.Rows[0].Value != 7 {
			t.Errorf("national report: %+v", rep.Rows)
		}
	})
}

// logBytes counts what the hub writes to its log and keeps it for inspection.
type logBytes struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBytes) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBytes) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Refused pushes with a 60 KB device header do not grow the log by what they carry:
// no header or body content is written, and the lines come at a bounded rate.
func TestRefusalsCannotInflateTheLog(t *testing.T) {
	t.Parallel()
	var log logBytes
	th := startHub(t, func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&log, nil)) })
	th.enroll(t, "NA-VH", "pc1")
	huge := strings.Repeat("A", 60<<10)
	start := time.Now()
	const refusals = 200
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range refusals {
		req, _ := http.NewRequest(http.MethodPost, th.srv.URL+wire.PushPath, strings.NewReader("{}"))
		req.Header.Set(wire.HeaderDevice, huge)
		if i%2 == 1 { // well-formed but unknown, with a hostile body
			wire.Sign(req, "Z"+strings.Repeat("9", 60), make([]byte, 32), []byte("{}"), th.now)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("refusal %d answered %d", i, resp.StatusCode)
		}
	}
	elapsed := time.Since(start)
	out := log.String()
	if strings.Contains(out, "AAAAAAAA") || strings.Contains(out, "99999999") {
		t.Fatalf("the log holds header content")
	}
	lines := strings.Count(out, "push refused")
	if limit := int(elapsed/refusalLogEvery) + 2; lines > limit {
		t.Errorf("%d refusal lines in %s, at most %d", lines, elapsed, limit)
	}
	if lines == 0 {
		t.Errorf("no refusal was logged at all")
	}
	if len(out) > 4<<10*(int(elapsed/time.Second)+2) {
		t.Errorf("the log grew by %d bytes for %d refusals", len(out), refusals)
	}
}

// An unknown device and an enrolled device with a wrong secret get the same answer.
func TestUnknownDeviceAnsweredAsBadSignature(t *testing.T) {
	t.Parallel()
	th := startHub(t)
	th.enroll(t, "NA-VH", "pc1")
	wrong := bytes.Repeat([]byte{7}, 32)
	answer := func(device string) string {
		status, er, _ := th.do(t, signedRequest{device: device, secret: wrong,
			body: pushBody(t, "NA-VH", device, snap("2026-11-20", vocab.TicketsIssued, 1, 1))})
		return fmt.Sprint(status, " ", er.Code, " ", er.Message)
	}
	if known, unknown := answer("pc1"), answer("pc2"); known != unknown {
		t.Fatalf("enrolled: %q, not enrolled: %q", known, unknown)
	}
}

// serveReal serves h as motcua-hub does (its Server, its connection caps) on loopback.
func serveReal(t *testing.T, h *Hub) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := h.Server()
	go srv.Serve(Listen(ln, srv, netguard.Limits{}))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// Connections from 8 addresses that declare a 4 MiB body and send nothing hold none of
// the body budget: every legitimate push meanwhile is stored.
func TestSlowBodiesDoNotStallIngestion(t *testing.T) {
	forEachBackendInTurn(t, func(t *testing.T) {
		netguardtest.NeedLoopbackAliases(t)
		th := startHub(t)
		secret := th.enroll(t, "NA-VH", "pc1")
		target := serveReal(t, th.Hub)
		head := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: hub\r\nContent-Length: %d\r\n%s: pc1\r\n%s: %d\r\n%s: %032x\r\n%s: %064x\r\n\r\n",
			wire.PushPath, wire.MaxBodyBytes, wire.HeaderDevice, wire.HeaderTime, th.now.Unix(), wire.HeaderNonce, 7, wire.HeaderSignature, 9)
		var floods []*netguardtest.Flood
		for i := range 8 {
			floods = append(floods, netguardtest.Hold(target, fmt.Sprintf("127.0.0.%d", 2+i), 2, head, nil, 0))
		}
		defer func() {
			for _, f := range floods {
				f.Stop()
			}
		}()
		time.Sleep(200 * time.Millisecond)
		client := &http.Client{Timeout: 10 * time.Second}
		for i := range 47 {
			body := pushBody(t, "NA-VH", "pc1", snap("2026-11-20", vocab.TicketsIssued, int64(i+1), int64(i+1)))
			req, _ := http.NewRequest(http.MethodPost, "http://"+target+wire.PushPath, bytes.NewReader(body))
			if err := wire.Sign(req, "pc1", secret, body, th.now); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("push %d: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("push %d answered %d while 16 empty bodies were held", i, resp.StatusCode)
			}
		}
		open := 0
		for _, f := range floods {
			open += f.StillOpen()
		}
		t.Logf("%d of the 16 empty bodies still held", open)
	})
}
