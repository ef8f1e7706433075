package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/internal/testkit"
)

// TestGateSimulationEndToEnd runs the agent on a gate config with simulate: true: a
// code typed into a simulated lane's scanner goes over the pty, through the decision
// and the store, opens the simulated relay and shows on the API and the dashboard.
func TestGateSimulationEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed")
	}
	dir := t.TempDir()
	text := gateSite
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	text = strings.Replace(text, "LISTEN", addr, 1)
	cfg, err := config.Parse([]byte(text), filepath.Join(dir, "gate.yaml"), config.Overrides{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + addr
	testkit.Eventually(t, 15*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, "the agent at %s to answer", addr)
	call := func(method, path, token string, body any, out any) int {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	qr := "001099012345||Nguyễn Văn An|01021990|Nam|Hà Nội|15062021"
	if code := call("POST", "/api/v1/gate/lanes/vao/simulate", "counter-token-0123456789", map[string]string{"payload": qr}, nil); code != http.StatusForbidden {
		t.Fatalf("a counter token typed a simulated scan (%d)", code)
	}
	if code := call("POST", "/api/v1/gate/lanes/vao/simulate", "admin-token-0123456789", map[string]string{"payload": qr}, nil); code != http.StatusAccepted {
		t.Fatalf("simulate scan: %d", code)
	}
	var st struct {
		Occupancy int
		Lanes     []struct{ Name, Relay string }
		Today     struct{ Entries, Unique_visitors int64 }
	}
	testkit.Eventually(t, 15*time.Second, func() bool {
		return call("GET", "/api/v1/gate", "display-token-012345678", nil, &st) == 200 && st.Today.Entries == 1
	}, "the simulated entry to be counted: %+v", func() string { return fmt.Sprintf("%+v", st) })
	if st.Occupancy != 1 || st.Today.Entries != 1 || len(st.Lanes) != 2 || st.Lanes[0].Relay != "ok" {
		t.Fatalf("gate status after one entry: %+v", st)
	}
	if code := call("POST", "/api/v1/gate/lanes/ra/open", "counter-token-0123456789", map[string]string{"who": "Trần Thị Hoa", "why": "khách quên mã"}, nil); code != 200 {
		t.Fatalf("manual open: %d", code)
	}
	if code := call("POST", "/api/v1/gate/site", "counter-token-0123456789", map[string]string{"state": "closed", "who": "Trần Thị Hoa"}, nil); code != 400 {
		t.Fatalf("a site state change without a reason: %d", code)
	}
	var dash struct {
		Status map[string]struct{ Title string }
	}
	call("GET", "/api/v1/dashboard", "counter-token-0123456789", nil, &dash)
	if dash.Status["gate"].Title != "Cổng tham quan" {
		t.Fatalf("dashboard has no gate block: %+v", dash)
	}
	resp, err := http.Get(base + "/gate/lane")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("lane page: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not stop")
	}
}
