package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/metrics"
)

type fixture struct {
	srv   *Server
	st    *store.Store
	bus   *bus.Bus
	base  string
	token map[Role]string
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the server's options changed by edit before it
// is built (nil: none).
func newFixtureWith(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.AllowedOrigins = []string{"http://onestop.local:8080"}
	reg := metrics.New()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "agent.db"), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := map[Role]string{RoleKiosk: "kiosk-token-123456", RoleCounter: "counter-token-12345",
		RoleDisplay: "display-token-12345", RoleAdmin: "admin-token-1234567"}
	b := bus.New(nil)
	o := Options{Config: cfg, Tokens: tokens, Store: st, Bus: b, Health: health.New(nil), Metrics: reg,
		Log: nil, Version: "test"}
	if edit != nil {
		edit(&o)
	}
	s := New(o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return &fixture{srv: s, st: st, bus: b, base: "http://" + s.Addr(), token: tokens}
}

func (f *fixture) get(t *testing.T, path string, role Role, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.base+path, nil)
	if role != RoleNone {
		req.Header.Set("Authorization", "Bearer "+f.token[role])
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHealthzMetricsAndDashboard(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.st.Append(context.Background(), store.Event{Kind: "test.event",
		Counts: []store.Count{{Metric: "tickets.issued", Value: 3}}}); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/healthz", RoleNone, nil)
	var h map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &h) != nil || h["status"] != "ok" || h["last_seq"].(float64) != 1 {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	_, body = f.get(t, "/metrics", RoleNone, nil)
	for _, want := range []string{"motcua_store_appends_total 1", "motcua_store_append_seconds_bucket", "# TYPE motcua_store_append_seconds histogram"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	resp, body = f.get(t, "/", RoleNone, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Bảng điều khiển") || !strings.Contains(body, "Thiết bị") {
		t.Fatalf("dashboard page: %d", resp.StatusCode)
	}
	_, body = f.get(t, "/api/v1/dashboard", RoleAdmin, nil)
	if !strings.Contains(body, `"label":"`+vocab.Label(vocab.TicketsIssued)+`"`) || !strings.Contains(body, `"value":3`) ||
		!strings.Contains(body, `"name":"Trung tâm Phục vụ hành chính công`) {
		t.Fatalf("dashboard data lacks today's counter: %s", body)
	}
}

func TestRolesAndOrigins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		path string
		role Role
		hdr  map[string]string
		want int
	}{
		{"/api/v1/events", RoleNone, nil, 401},
		{"/api/v1/events?token=wrong-token-000000", RoleNone, nil, 401},
		{"/api/v1/events", RoleKiosk, nil, 403},
		{"/api/v1/events", RoleCounter, nil, 403},
		{"/api/v1/events", RoleAdmin, nil, 200},
		{"/api/v1/events?token=admin-token-1234567", RoleNone, nil, 200},
		{"/api/v1/counters", RoleCounter, nil, 200},
		{"/api/v1/counters?day=23-11-2026", RoleCounter, nil, 400},
		{"/api/v1/dashboard", RoleKiosk, nil, 403},
		{"/api/v1/counters", RoleCounter, map[string]string{"Origin": "http://evil.example"}, 403},
		{"/api/v1/counters", RoleCounter, map[string]string{"Origin": "http://onestop.local:8080"}, 200},
	}
	for _, c := range cases {
		resp, body := f.get(t, c.path, c.role, c.hdr)
		if resp.StatusCode != c.want {
			t.Errorf("GET %s as %q %v: %d, want %d (%s)", c.path, c.role, c.hdr, resp.StatusCode, c.want, body)
		}
		if c.want >= 400 && !strings.Contains(body, `"message"`) {
			t.Errorf("GET %s: error without a Vietnamese message: %s", c.path, body)
		}
	}
	resp, _ := f.get(t, "/api/v1/counters", RoleCounter, map[string]string{"Origin": "http://onestop.local:8080"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://onestop.local:8080" {
		t.Error("allowed origin got no CORS header")
	}
}

// readEvent reads one server-sent event's data line.
func readEvent(t *testing.T, r *bufio.Reader) map[string]any {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}

func TestStreamSendsPersonalDataOnlyToAllowedRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	open := func(role Role) *bufio.Reader {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v1/stream?topics=identity&token="+f.token[role], nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream as %s: %v %v", role, err, resp)
		}
		r := bufio.NewReader(resp.Body)
		r.ReadString('\n') // the opening comment
		return r
	}
	counter, display := open(RoleCounter), open(RoleDisplay)
	// Each handler subscribed before writing the opening comment read above.
	f.bus.Publish(bus.Message{Topic: "other", Public: map[string]any{"x": 1}})
	f.bus.Publish(bus.Message{Topic: "identity", Public: map[string]any{"outcome": "ok"}, Personal: map[string]any{"name": "Nguyễn Văn A"}})
	c := readEvent(t, counter)
	d := readEvent(t, display)
	if c["topic"] != "identity" || c["personal"] == nil {
		t.Errorf("counter role should get personal fields: %v", c)
	}
	if d["topic"] != "identity" || d["personal"] != nil {
		t.Errorf("display role must not get personal fields: %v", d)
	}
}
