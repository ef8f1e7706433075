package hub

import (
	"bytes"
	"context"
	"encoding/json"
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
	"motcua-agent/internal/testkit"
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

// Refused pushes with a 60 KB device header do not grow the log by what they carry:
// no header or body content is written, and the lines come at a bounded rate.
func TestRefusalsCannotInflateTheLog(t *testing.T) {
	t.Parallel()
	var log testkit.Buffer
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

// rowsPush is a push of n distinct ticket rows of one day (counters Q0…, services 1…25),
// from revision rev.
func rowsPush(t *testing.T, site, device, day string, from, n int, rev int64) []byte {
	t.Helper()
	var snaps []wire.Snapshot
	for i := from; i < from+n; i++ {
		snaps = append(snaps, snap(day, vocab.TicketsServed, 1, rev, "service", fmt.Sprint(1+i%25), "counter", fmt.Sprintf("Q%d", i/25)))
	}
	return pushBody(t, site, device, snaps...)
}

// A device cannot store rows without bound: past its budget of distinct rows a day, in
// all, or its site's a day, a push is refused whole and stores nothing; updating rows it
// holds is still taken; the refusals are on the fleet page.
func TestRowBudgets(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t, func(o *Options) {
			o.RowBudget = RowBudget{DevicePerDay: 50, DeviceInAll: 120, SitePerDay: 80}
			o.OpenFleet = true
		})
		a := th.enroll(t, "VH-1", "pc1")
		b := th.enroll(t, "VH-1", "pc2")
		steps := []struct {
			name           string
			device         string
			secret         []byte
			day            string
			from, n        int
			rev            int64
			status, stored int
		}{
			{"a day's budget", "pc1", a, "2026-11-18", 0, 50, 1, 200, 50},
			{"one row past it", "pc1", a, "2026-11-18", 50, 1, 2, 429, 50},
			{"new values of held rows", "pc1", a, "2026-11-18", 0, 50, 3, 200, 50},
			{"another day", "pc1", a, "2026-11-19", 0, 50, 4, 200, 100},
			{"past the budget in all", "pc1", a, "2026-11-20", 0, 21, 5, 429, 100},
			{"up to the budget in all", "pc1", a, "2026-11-20", 0, 20, 6, 200, 120},
			{"past the site's day", "pc2", b, "2026-11-18", 100, 31, 1, 429, 120},
			{"up to the site's day", "pc2", b, "2026-11-18", 100, 30, 2, 200, 150},
		}
		for _, s := range steps {
			status, er, _ := th.do(t, signedRequest{device: s.device, secret: s.secret, body: rowsPush(t, "VH-1", s.device, s.day, s.from, s.n, s.rev)})
			if status != s.status {
				t.Fatalf("%s: %d %+v, want %d", s.name, status, er, s.status)
			}
			if status == http.StatusTooManyRequests && er.Code != wire.CodeOverBudget {
				t.Fatalf("%s: code %q", s.name, er.Code)
			}
			if n := th.counterRows(t); n != s.stored {
				t.Fatalf("%s: %d rows held, want %d", s.name, n, s.stored)
			}
		}
		fleet, err := th.Fleet(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		refused := map[string]int64{}
		for _, f := range fleet {
			refused[f.Device] = f.OverBudget
		}
		if refused["pc1"] != 2 || refused["pc2"] != 1 {
			t.Errorf("refusals on the fleet: %v, want pc1 2, pc2 1", refused)
		}
		if page := getPage(t, th, ""); !strings.Contains(page, "vượt hạn mức số dòng: 2 lần gửi bị từ chối") {
			t.Errorf("the page does not show pc1's refusals")
		}
	})
}

// A hostile device sending pushes of 5,000 new rows keeps no more than its day's budget.
func TestRowFloodIsBounded(t *testing.T) {
	t.Parallel()
	th := startHub(t, func(o *Options) { o.RowBudget = RowBudget{DevicePerDay: 12_000} })
	secret := th.enroll(t, "VH-1", "pc1")
	refused := 0
	for i := range 8 {
		status, _, _ := th.do(t, signedRequest{device: "pc1", secret: secret, gzip: true,
			body: rowsPush(t, "VH-1", "pc1", "2026-11-20", i*wire.MaxSnapshotsPerPush, wire.MaxSnapshotsPerPush, int64(i+1))})
		if status == http.StatusTooManyRequests {
			refused++
		}
	}
	if n := th.counterRows(t); n != 10_000 || refused != 6 {
		t.Errorf("%d rows held, %d pushes refused; want 10000 and 6", n, refused)
	}
}

// Past its capacity the hub answers 503 busy with Retry-After at once; under a burst
// far above it every push gets an answer, either stored or shed, none lost in between.
func TestOverloadIsShed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t, func(o *Options) { o.MaxPushesInFlight = 4 })
		secret := th.enroll(t, "VH-1", "pc1")
		push := func(rev int64) (*http.Response, error) {
			body := pushBody(t, "VH-1", "pc1", snap("2026-11-20", vocab.TicketsIssued, rev, rev, "service", fmt.Sprint(rev)))
			req, _ := http.NewRequest(http.MethodPost, th.srv.URL+wire.PushPath, bytes.NewReader(body))
			if err := wire.Sign(req, "pc1", secret, body, th.now); err != nil {
				t.Fatal(err)
			}
			return (&http.Client{Timeout: 20 * time.Second}).Do(req)
		}
		// The hub's places all taken: the push is shed with a Retry-After.
		for range 4 {
			th.load.admit()
		}
		resp, err := push(1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("at capacity: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		for range 4 {
			th.load.leave()
		}
		// A burst of 200 at once: every one answered, 200 or 503 busy, and every 200 stored.
		var wg sync.WaitGroup
		var mu sync.Mutex
		answers := map[int]int{}
		for i := range 200 {
			wg.Go(func() {
				resp, err := push(int64(2 + i))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					answers[-1]++
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					answers[-2]++
				}
				answers[resp.StatusCode]++
			})
		}
		wg.Wait()
		if answers[-1] != 0 || answers[-2] != 0 || answers[200]+answers[503] != 200 || answers[200] == 0 {
			t.Fatalf("answers: %v (-1: no answer, -2: 503 without Retry-After)", answers)
		}
		if n := th.counterRows(t); n != answers[200] {
			t.Fatalf("%d rows stored for %d pushes answered 200", n, answers[200])
		}
		t.Logf("burst of 200 with 4 places: %v", answers)
	})
}

// An ID number in a device's state text never reaches the fleet view; the push with it
// is stored.
func TestFleetViewMasksIDNumbers(t *testing.T) {
	t.Parallel()
	th := startHub(t, func(o *Options) { o.OpenFleet = true })
	secret := th.enroll(t, "VH-1", "pc1")
	body, err := json.Marshal(wire.PushRequest{Schema: wire.SchemaVersion, Site: "VH-1", Device: "pc1",
		Snapshots: []wire.Snapshot{snap("2026-11-20", vocab.TicketsIssued, 1, 1)},
		Heartbeat: &wire.Heartbeat{Version: "1.0.0", Devices: []wire.DeviceState{{Name: "reader", Kind: "pcsc", State: "fault",
			Detail: "card 079203004599 stuck, port 8607"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, body: body}); status != http.StatusOK {
		t.Fatalf("push: %d %+v", status, er)
	}
	fleet, err := th.Fleet(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fleet[0].Devices[0].Detail; got != "card # stuck, port 8607" {
		t.Fatalf("fleet shows %q", got)
	}
	if page := getPage(t, th, ""); strings.Contains(page, "079203004599") {
		t.Fatal("the page shows the ID number")
	}
}
