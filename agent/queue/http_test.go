package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

var testTokens = map[web.Role]string{
	web.RoleKiosk: "kiosk-token-0000001", web.RoleCounter: "counter-token-00001",
	web.RoleDisplay: "display-token-00001", web.RoleAdmin: "admin-token-0000001", web.RoleRating: "rating-token-000001",
}

type testServer struct {
	base string
	q    *Queue
	st   *store.Store
	clk  *testkit.Clock
	srv  *web.Server
	bus  *bus.Bus
	hl   *health.Registry
	api  *API
}

func startServer(t *testing.T, print PrintFunc) *testServer {
	t.Helper()
	q, clk, st := newTestQueue(t)
	cfg, err := config.Parse([]byte(`
site: {province_code: "01", commune_code: "00004", id: t1, name: "UBND phường Ba Đình", device_id: pc1}
http: {listen: "127.0.0.1:0"}
`), "", config.Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b := bus.New(nil)
	q.bus = b
	hl := health.New(nil)
	srv := web.New(web.Options{Config: cfg, Tokens: testTokens, Store: st, Bus: b, Health: hl, Metrics: metrics.New(), Log: quietLog(), Now: clk.Now})
	api := &API{Q: q, Office: "UBND phường Ba Đình", PublicURL: "http://127.0.0.1:8606", Print: print}
	api.Register(srv)
	RegisterPages(srv, PageOptions{Voice: true})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return &testServer{base: "http://" + srv.Addr(), q: q, st: st, clk: clk, srv: srv, bus: b, hl: hl, api: api}
}

func (s *testServer) do(t testing.TB, method, path string, role web.Role, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if role != web.RoleNone {
		req.Header.Set("Authorization", "Bearer "+testTokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestHTTPFlow(t *testing.T) {
	var mu sync.Mutex
	var slips []Slip
	s := startServer(t, func(ctx context.Context, sl Slip) error {
		mu.Lock()
		slips = append(slips, sl)
		mu.Unlock()
		return nil
	})
	var iss IssueResponse
	if c := s.do(t, "POST", "/api/v1/tickets", web.RoleNone, map[string]string{"service": "A"}, nil); c != 401 {
		t.Fatalf("no token: %d", c)
	}
	if c := s.do(t, "POST", "/api/v1/tickets", web.RoleDisplay, map[string]string{"service": "A"}, nil); c != 403 {
		t.Fatalf("display token: %d", c)
	}
	var e map[string]string
	if c := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "Z"}, &e); c != 400 || e["message"] == "" {
		t.Fatalf("unknown service: %d %v", c, e)
	}
	if c := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, &iss); c != 201 {
		t.Fatalf("issue: %d", c)
	}
	if iss.Ticket.Number != 1001 || iss.ServiceName != "Chứng thực" || !iss.Printed || fmt.Sprint(iss.Counters) != "[1 2]" {
		t.Fatalf("issue response %+v", iss)
	}
	s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, &iss)
	if iss.Ahead != 1 || iss.EstimateMin != 3 { // 1 ahead × 5 min / 2 counters, rounded up
		t.Fatalf("second ticket: ahead %d, estimate %d", iss.Ahead, iss.EstimateMin)
	}
	if len(slips) != 2 || slips[1].Number != 1002 || slips[1].StatusURL != "http://127.0.0.1:8606/ticket?n=1002&d=2026-03-02" {
		t.Fatalf("slips %+v", slips)
	}

	var tk Ticket
	if c := s.do(t, "POST", "/api/v1/counters/2/next", web.RoleKiosk, nil, nil); c != 403 {
		t.Fatalf("kiosk calling: %d", c)
	}
	if c := s.do(t, "POST", "/api/v1/counters/2/next", web.RoleCounter, nil, &tk); c != 200 || tk.Number != 1001 || tk.Counter != "2" {
		t.Fatalf("next: %d %+v", c, tk)
	}
	if c := s.do(t, "POST", "/api/v1/tickets/1001/noshow", web.RoleCounter, nil, &e); c != 409 {
		t.Fatalf("early no-show: %d", c)
	}
	for _, a := range []string{"recall", "start", "finish"} {
		if c := s.do(t, "POST", "/api/v1/tickets/1001/"+a, web.RoleCounter, nil, &tk); c != 200 {
			t.Fatalf("%s: %d", a, c)
		}
	}
	if c := s.do(t, "POST", "/api/v1/tickets/1002/call", web.RoleCounter, map[string]string{"counter": "1"}, &tk); c != 200 || tk.State != Called {
		t.Fatalf("call: %d %+v", c, tk)
	}
	if c := s.do(t, "POST", "/api/v1/tickets/1002/transfer", web.RoleCounter, map[string]string{"service": "C"}, &tk); c != 200 || tk.Service != "C" {
		t.Fatalf("transfer: %d %+v", c, tk)
	}
	if c := s.do(t, "POST", "/api/v1/tickets/1002/explode", web.RoleCounter, nil, nil); c != 404 {
		t.Fatalf("unknown action: %d", c)
	}
	if c := s.do(t, "POST", "/api/v1/tickets/99999/recall", web.RoleCounter, nil, nil); c != 400 {
		t.Fatalf("bad number: %d", c)
	}
	// Reprint: by the kiosk, for an open ticket only.
	if c := s.do(t, "POST", "/api/v1/tickets/1002/reprint", web.RoleKiosk, nil, &iss); c != 200 || !iss.Printed || len(slips) != 3 || slips[2].Number != 1002 {
		t.Fatalf("reprint: %d %+v, %d slips", c, iss, len(slips))
	}
	if c := s.do(t, "POST", "/api/v1/tickets/1001/reprint", web.RoleKiosk, nil, nil); c != 409 {
		t.Fatalf("reprint of a finished ticket: %d", c)
	}
	// Priority from the birth date read off the ID card (threshold 75 on 2026-03-02).
	for _, tc := range []struct {
		born string
		prio bool
		code int
	}{{"1951-03-02", true, 201}, {"1951-03-03", false, 201}, {"02/03/1951", false, 400}} {
		var r IssueResponse
		c := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "C", "birth_date": tc.born}, &r)
		if c != tc.code || (c == 201 && r.Ticket.Priority != tc.prio) {
			t.Fatalf("born %s: %d priority %v", tc.born, c, r.Ticket.Priority)
		}
	}
	// An ID card read at kiosk station k1 shows a holder 75 today: its next ticket
	// (only) is priority; a card a day short of it, or a garbled date, at k2 is not.
	for _, tc := range []struct {
		station, birth string
		want           bool
	}{{"k2", "03/03/1951", false}, {"k2", "1951-03-01", false}, {"k1", "02/03/1951", true}} {
		if got := s.api.CardRead(tc.station, tc.birth); got != tc.want {
			t.Fatalf("card born %s at %s: priority %v", tc.birth, tc.station, got)
		}
	}
	for i, tc := range []struct {
		station string
		prio    bool
	}{{"k2", false}, {"k1", true}, {"k1", false}} {
		var r IssueResponse
		s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "C", "station": tc.station}, &r)
		if r.Ticket.Priority != tc.prio {
			t.Fatalf("card priority %d at %s: %v", i, tc.station, r.Ticket.Priority)
		}
	}
	// The QR target: public, and refuses another day's ticket.
	var st IssueResponse
	if c := s.do(t, "GET", "/api/v1/tickets/1002", web.RoleNone, nil, &st); c != 200 || st.Ticket.State != Waiting {
		t.Fatalf("status: %d %+v", c, st)
	}
	if c := s.do(t, "GET", "/api/v1/tickets/1002?d=2026-03-01", web.RoleNone, nil, nil); c != 410 {
		t.Fatalf("old day: %d", c)
	}

	var stats Stats
	if c := s.do(t, "GET", "/api/v1/queue/stats", web.RoleCounter, nil, &stats); c != 200 {
		t.Fatalf("stats: %d", c)
	}
	if stats.Total.Issued != 7 || stats.Total.Served != 1 || stats.Total.WaitingNow != 6 {
		t.Fatalf("stats total %+v", stats.Total)
	}
	if c := s.do(t, "GET", "/api/v1/queue/stats?day=2026-03-01", web.RoleCounter, &stats, &stats); c != 200 || stats.Total.Issued != 0 {
		t.Fatalf("other day: %d %+v", c, stats.Total)
	}
	if c := s.do(t, "GET", "/api/v1/queue/stats?day=yesterday", web.RoleCounter, nil, nil); c != 400 {
		t.Fatalf("bad day: %d", c)
	}
}

func TestStatsFigures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, c, _ := newTestQueue(t)
	// Ten tickets of A waiting 1..10 minutes, served 2 minutes each at counter 1; one
	// B ticket becomes a no-show at counter 3.
	for i := 0; i < 10; i++ {
		must(t)(q.Issue(ctx, "A", false))
	}
	for i := 0; i < 10; i++ {
		c.Add(time.Minute)
		tk := must(t)(q.Next(ctx, "1", CloseAuto))
		c.Add(2 * time.Minute)
		must(t)(q.Finish(ctx, tk.Number))
		c.Add(-2 * time.Minute)
	}
	b := must(t)(q.Issue(ctx, "B", false))
	must(t)(q.Call(ctx, "3", b.Number, CloseAuto))
	must(t)(q.Recall(ctx, b.Number))
	must(t)(q.Recall(ctx, b.Number))
	must(t)(q.NoShow(ctx, b.Number))
	must(t)(q.Issue(ctx, "C", false))
	st, err := q.Stats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	a := st.Services[0]
	if a.Key != "A" || a.Issued != 10 || a.Served != 10 || a.AvgWaitSec != 330 || a.P90WaitSec != 540 || a.AvgServiceSec != 120 {
		t.Fatalf("service A %+v", a)
	}
	if st.Services[1].NoShows != 1 || st.Services[2].WaitingNow != 1 || st.Total.Issued != 12 {
		t.Fatalf("stats %+v", st)
	}
	if st.Counters[0].Served != 10 || st.Counters[0].Issued != 0 || st.Counters[2].NoShows != 1 {
		t.Fatalf("counters %+v", st.Counters)
	}
}

func TestPrinterFaultStillIssues(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(ctx context.Context, sl Slip) error { return errors.New("printer: out of paper") })
	var iss IssueResponse
	if c := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, &iss); c != 201 {
		t.Fatalf("issue: %d", c)
	}
	if iss.Printed || iss.Notice == "" || iss.Ticket.Number != 1001 {
		t.Fatalf("response %+v", iss)
	}
	rows, _ := s.st.Counters(context.Background(), "2026-03-02")
	got := map[string]int64{}
	for _, r := range rows {
		got[r.Metric] += r.Value
	}
	if got[MetricIssued] != 1 || got[MetricUnprinted] != 1 {
		t.Fatalf("counters %v", got)
	}
}
