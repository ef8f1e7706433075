package dossier

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/scanner"
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
	f.Counters = []string{"1", "2", "quay-3"}
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
	t.Parallel()
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
		Status map[string]web.Block `json:"status"`
	}
	json.NewDecoder(resp.Body).Decode(&dash)
	resp.Body.Close()
	d := dash.Status["dossiers"]
	want := []web.Row{{Label: "Hồ sơ tiếp nhận", Value: "3"}, {Label: "Hồ sơ đã số hóa", Value: "1"},
		{Label: "Tỷ lệ số hóa (%)", Value: "33,3"}, {Label: "Dịch vụ 13 – Đăng ký khai sinh", Value: "tiếp nhận 2, số hóa 1 (4 trang)"}}
	if d.State != web.BlockOK || len(d.Rows) < len(want) || fmt.Sprint(d.Rows[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("dashboard block: %+v", d)
	}
}

// A receipt scanned at a counter is counted in the scan's own event: one write, so it
// can neither be lost between two transactions nor dropped by a busy bus; scanned twice
// it counts once.
func TestReceiptScansCountedWithTheScan(t *testing.T) {
	t.Parallel()
	f, st, b, _ := newServer(t)
	cl, _ := qrpayload.NewClassifier("")
	scans := checkin.New(st, store.NewIDHasher([]byte("k")), b, cl, "site", nil, nil)
	scans.Receipt = f.ReceiptCounts
	ctx := context.Background()
	for range 2 {
		r, err := scans.Handle(ctx, scanner.Scan{Scanner: "c", Tag: "q1", Purpose: config.ScanForCheckin, Text: "H40.22-230701-0009|3"})
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, c := range r.Event.Counts {
			has = has || c.Metric == MetricReceived
		}
		if !has {
			t.Fatalf("the scan's event does not carry the receipt's count: %+v", r.Event.Counts)
		}
	}
	s, err := f.Today(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Received != 1 || s.Services[0].Code != "3" {
		t.Fatalf("a receipt scanned twice must count once under its service: %+v", s)
	}
	evs, _ := st.Events(ctx, store.EventFilter{})
	if len(evs) != 2 {
		t.Fatalf("%d events, want the 2 scans only", len(evs))
	}
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	d := config.Dossier{Services: []config.Service{{Code: "3", Name: "Đăng ký thường trú (tỉnh)"}, {Code: "26", Name: "Dịch vụ thêm"}}}
	c := d.Catalogue()
	if len(c) != 26 || c[2].Name != "Đăng ký thường trú (tỉnh)" || c[25].Code != "26" {
		t.Fatalf("catalogue: %d %+v", len(c), c[2])
	}
}

func TestAPIReadsOfficialCodesAndRefusesIDNumbers(t *testing.T) {
	t.Parallel()
	_, st, _, base := newServer(t)
	if code, out := post(t, base+"/api/v1/dossiers/000.00.31.H40-231201-0001/received", `{"service":"13"}`); code != 200 {
		t.Fatalf("official code: %d %v", code, out)
	}
	code, out := post(t, base+"/api/v1/dossiers/001099012345/received", `{"service":"13"}`)
	if code != 400 || strings.Contains(out["error"].(string)+out["message"].(string), "001099012345") ||
		!strings.Contains(out["message"].(string), "định danh") {
		t.Fatalf("ID number as a code: %d %v", code, out)
	}
	evs, _ := st.Events(context.Background(), store.EventFilter{})
	var a DossierAttrs
	if len(evs) != 1 || evs[0].Attrs.Decode(&a) != nil || a.Unit != "000.00.31.H40" || a.ReceivedOn != "2023-12-01" {
		t.Fatalf("events: %+v", evs)
	}
}

// TestCounterFieldChecked: the API's counter must be one of the site's counters, short,
// and never ID-shaped; a refusal stores nothing and does not repeat the value.
func TestCounterFieldChecked(t *testing.T) {
	t.Parallel()
	_, st, _, base := newServer(t)
	url := base + "/api/v1/dossiers/H40.22-230701-0001/received"
	for _, counter := range []string{"2", "quay-3", ""} {
		if code, out := post(t, url, `{"service":"13","counter":"`+counter+`"}`); code != 200 {
			t.Fatalf("counter %q: %d %v", counter, code, out)
		}
	}
	for name, c := range map[string]struct{ counter, says string }{
		"not configured": {"9", "Quầy không có"},
		"ID number":      {"001099012345", "Quầy không có"},
		"old ID number":  {"079123456", "Quầy không có"},
		"digits inside":  {"q079123456789x", "Quầy không có"},
		"too long":       {strings.Repeat("q", 33), "Quầy không có"},
		"not a name":     {"quầy 3", "Quầy không có"},
		"900 KB":         {strings.Repeat("0791", 225_000), "Yêu cầu không hợp lệ"},
	} {
		code, out := post(t, url, `{"service":"13","counter":"`+c.counter+`"}`)
		answer := fmt.Sprint(out)
		if code < 400 || code > 413 || !strings.Contains(answer, c.says) {
			t.Errorf("%s: %d %.200s", name, code, answer)
		}
		if len(c.counter) > 3 && strings.Contains(answer, c.counter[:len(c.counter)-1]) {
			t.Errorf("%s: the answer repeats the value", name)
		}
	}
	evs, _ := st.Events(context.Background(), store.EventFilter{})
	if len(evs) != 3 {
		t.Fatalf("%d events stored, want the 3 good ones", len(evs))
	}
	for _, e := range evs {
		if len(e.Counter) > 6 {
			t.Fatalf("stored counter %q", e.Counter)
		}
	}
}
