package dossier

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
)

const counterToken = "counter-token-0123456789"

func newServer(t *testing.T) (*Flow, *store.Store, *bus.Bus, string) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := &config.Config{HTTP: config.HTTP{Listen: "127.0.0.1:0"}}
	b := bus.New(nil)
	srv := web.New(web.Options{Config: cfg, Tokens: map[web.Role]string{web.RoleCounter: counterToken}, Store: st, Bus: b,
		Health: health.New(nil), Metrics: metrics.New()})
	d := config.Dossier{Services: []config.Service{{Code: "1.000894", Name: "Đăng ký khai sinh (thủ tục tỉnh)"}}}
	f := New(st, d, "site", nil)
	f.Routes(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return f, st, b, "http://" + srv.Addr()
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+counterToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAPIAndDashboard(t *testing.T) {
	f, _, _, base := newServer(t)
	ctx := context.Background()
	for _, c := range []struct{ code, body string }{
		{"H40.22-230701-0001", `{"service":"13"}`},
		{"H40.22-230701-0002", `{"service":"13"}`},
		{"H40.22-230701-0003", `{"service":"1.000894"}`},
		{"H40.22-230701-0001", `{"service":"13"}`}, // the same dossier reported twice
	} {
		if code, out := post(t, base+"/api/v1/dossiers/"+c.code+"/received", c.body); code != 200 {
			t.Fatalf("received: %d %v", code, out)
		}
	}
	if code, out := post(t, base+"/api/v1/dossiers/H40.22-230701-0001/digitized", `{"service":"13","pages":4,"files":2}`); code != 200 {
		t.Fatalf("digitized: %d %v", code, out)
	}
	if code, out := post(t, base+"/api/v1/dossiers/X-1/received", `{"service":"99"}`); code != 400 || !strings.Contains(out["message"].(string), "danh mục") {
		t.Fatalf("unknown service: %d %v", code, out)
	}
	if code, _ := post(t, base+"/api/v1/dossiers/X-1/received", `{"service":"13","extra":1}`); code != 400 {
		t.Fatalf("unknown field accepted: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/dossiers/X-1/received", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	st, err := f.Today(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Received != 3 || st.Digitized != 1 || st.Share != 33.3 {
		t.Fatalf("today: %+v", st)
	}
	if st.Services[0].Code != "13" || st.Services[0].Received != 2 || st.Services[0].Pages != 4 || st.Services[0].Name != "Đăng ký khai sinh" {
		t.Fatalf("services: %+v", st.Services)
	}
	// The dashboard JSON carries the block.
	req, _ = http.NewRequest("GET", base+"/api/v1/dashboard", nil)
	req.Header.Set("Authorization", "Bearer "+counterToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Status map[string]Status `json:"status"`
	}
	json.NewDecoder(resp.Body).Decode(&dash)
	resp.Body.Close()
	if d := dash.Status["dossiers"]; d.Received != 3 || d.Rows["3. Tỷ lệ số hóa (%)"] != "33.3" ||
		d.Rows["Dịch vụ 13 – Đăng ký khai sinh"] != "tiếp nhận 2, số hóa 1 (4 trang)" {
		t.Fatalf("dashboard block: %+v", dash.Status)
	}
}

func TestReceiptScansOnTheBus(t *testing.T) {
	f, _, b, _ := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := b.Subscribe(16, "scan")
	done := make(chan struct{})
	go func() { f.FollowScans(ctx, sub); close(done) }()
	b.Publish(bus.Message{Topic: "scan", Public: map[string]any{"kind": "cccd-2021"}})
	b.Publish(bus.Message{Topic: "scan", Public: map[string]any{"kind": "dossier", "dossier": "H40.22-230701-0009", "service": "3", "counter": "q1"}})
	b.Publish(bus.Message{Topic: "scan", Public: map[string]any{"kind": "dossier", "dossier": "H40.22-230701-0009", "service": "3", "counter": "q1"}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := f.Today(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := f.Store.Events(context.Background(), store.EventFilter{})
		if len(evs) == 2 {
			if s.Received != 1 || s.Services[0].Code != "3" {
				t.Fatalf("a receipt scanned twice must count once: %+v", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt scans not recorded: %d events", len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestCatalogue(t *testing.T) {
	d := config.Dossier{Services: []config.Service{{Code: "3", Name: "Đăng ký thường trú (tỉnh)"}, {Code: "26", Name: "Dịch vụ thêm"}}}
	c := d.Catalogue()
	if len(c) != 26 || c[2].Name != "Đăng ký thường trú (tỉnh)" || c[25].Code != "26" {
		t.Fatalf("catalogue: %d %+v", len(c), c[2])
	}
}
