package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
)

// steeredAgent is the demo agent run by RunSteered on a site file in a temporary
// folder, pushing every second to a real hub over HTTP.
type steeredAgent struct {
	site  string // the site file
	apps  chan *App
	cur   *App
	base  string
	hub   *hub.Hub
	srv   *httptest.Server
	token string
}

func startSteeredAgent(t *testing.T, window time.Duration) *steeredAgent {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	h, err := hub.Open(filepath.Join(dir, "hub.db"), hub.Options{ReportToken: "tinh-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); h.Close() })
	secret, err := h.Enroll(context.Background(), hub.Site{Code: "demo-site", Commune: "Phường Ba Đình", Province: "Hà Nội"}, "demo-pc-1")
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "hub.secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	demo, err := config.Example(config.ProfileDemo)
	if err != nil {
		t.Fatal(err)
	}
	// The hub's address is in the site file (a command line's --hub would win over the
	// hub's own configuration).
	local, err := config.MergeLayer(demo, []byte("sync:\n  url: "+srv.URL+"\n  secret_file: "+secretFile+
		"\n  interval: 1s\n  min_backoff: 200ms\n  max_backoff: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	sa := &steeredAgent{site: filepath.Join(dir, "site.yaml"), apps: make(chan *App, 8), hub: h, srv: srv, token: "tinh-token-0123456789"}
	if err := os.WriteFile(sa.site, local, 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	sa.base = "http://" + listen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunSteered(ctx, SteerOptions{Path: sa.site, HealthWindow: window,
			Overrides: config.Overrides{DataDir: filepath.Join(dir, "data"), Listen: listen},
			Ready:     func(a *App) { sa.apps <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSteered: %v", err)
		}
	})
	sa.next(t, "the first opening")
	return sa
}

// next waits for the agent's next opening.
func (sa *steeredAgent) next(t *testing.T, what string) *App {
	t.Helper()
	select {
	case a := <-sa.apps:
		sa.cur = a
		return a
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: the agent did not open", what)
	}
	return nil
}

func (sa *steeredAgent) publish(t *testing.T, version, text string) {
	t.Helper()
	if _, err := sa.hub.PublishConfig(context.Background(), hub.ConfigTarget{Site: "demo-site"}, version, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

func (sa *steeredAgent) fleetConfig(t *testing.T) hub.FleetConfig {
	t.Helper()
	f, err := sa.hub.Fleet(context.Background(), hub.Filter{})
	if err != nil || len(f) != 1 {
		t.Fatalf("fleet: %v %v", f, err)
	}
	if f[0].Config == nil {
		return hub.FleetConfig{}
	}
	return *f[0].Config
}

func (sa *steeredAgent) healthz(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get(sa.base + "/healthz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func getBody(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The province publishes a configuration for the site: the agent applies it without
// losing the ticket waiting in the hall, /healthz and the fleet say the version; a
// configuration that fails the check is refused and the fleet page says why; one after
// which no push reaches the hub is rolled back; a technician's edit holds the hub's
// offers back until `config use-hub`.
func TestConfigFromTheHub(t *testing.T) {
	browsertest.Path(t)
	sa := startSteeredAgent(t, 6*time.Second)
	a := sa.cur

	// A citizen takes a ticket and waits.
	req, _ := http.NewRequest(http.MethodPost, sa.base+"/api/v1/tickets", strings.NewReader(`{"service": "A"}`))
	req.Header.Set("Authorization", "Bearer "+a.Tokens[web.RoleKiosk])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var issued struct{ Ticket struct{ Number int } }
	json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	if issued.Ticket.Number == 0 {
		t.Fatalf("no ticket issued: %d", resp.StatusCode)
	}
	ticketURL := sa.base + "/api/v1/tickets/" + itoa(issued.Ticket.Number)
	if b := getBody(t, ticketURL, ""); !strings.Contains(b, `"waiting"`) {
		t.Fatalf("the ticket is not waiting: %s", b)
	}

	// 1. Published, applied, healthy: committed; the ticket still waits.
	sa.publish(t, "1", "site:\n  name: Trung tâm thử cấu hình từ tỉnh\nlog:\n  level: warn\n")
	b := sa.next(t, "applying site@1")
	if b.Config.Site.Name != "Trung tâm thử cấu hình từ tỉnh" || b.Config.HubVersion() != "site@1" {
		t.Fatalf("the new opening runs %q (%s)", b.Config.Site.Name, b.Config.HubVersion())
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return sa.fleetConfig(t).Version == "site@1" }, "the hub to hear site@1 runs")
	if h := sa.healthz(t); h["config_version"] != "site@1" || h["version"] == "" {
		t.Fatalf("/healthz: %v", h)
	}
	if b := getBody(t, ticketURL, ""); !strings.Contains(b, `"waiting"`) {
		t.Fatalf("the ticket was lost across the new configuration: %s", b)
	}

	// 2. A configuration that fails the check: refused, the previous one kept, no reopening.
	sa.publish(t, "2", "log:\n  level: loud\n")
	testkit.Eventually(t, 30*time.Second, func() bool { return sa.fleetConfig(t).Refused == "site@2" }, "the hub to hear site@2 was refused")
	if fc := sa.fleetConfig(t); !strings.Contains(fc.Reason, "log.level") || fc.Version != "site@1" {
		t.Fatalf("refusal as the fleet has it: %+v", fc)
	}
	if h := sa.healthz(t); h["config_version"] != "site@1" {
		t.Fatalf("/healthz after a refusal: %v", h)
	}
	select {
	case <-sa.apps:
		t.Fatal("the agent reopened on a configuration that failed its check")
	default:
	}
	tab := browsertest.Tab(t, browsertest.Headless(t, chromedp.WindowSize(1400, 900)))
	browsertest.Do(t, tab, "fleet page", chromedp.Navigate(sa.srv.URL+"/?token="+sa.token),
		browsertest.Poll(`document.querySelector("#fleet .refused") !== null`))
	cell := browsertest.TextContent(t, tab, "#fleet td.config")
	if !strings.Contains(cell, "Máy đã từ chối bản site@2") || !strings.Contains(cell, "log.level") || !strings.Contains(cell, "Đang chạy bản site@1") {
		t.Fatalf("fleet page's config cell: %q", cell)
	}
	browsertest.Do(t, tab, "scroll to the fleet", chromedp.ScrollIntoView("#fleet-section"))
	browsertest.Screenshot(t, tab, "hub-fleet-config-refused")

	// 3. Passes the check but no push reaches the hub afterwards: rolled back.
	sa.publish(t, "3", "sync:\n  url: http://127.0.0.1:1\n")
	if c := sa.next(t, "trying site@3"); c.Config.HubVersion() != "site@3" {
		t.Fatalf("trial opening runs %s", c.Config.HubVersion())
	}
	if c := sa.next(t, "rolling back from site@3"); c.Config.HubVersion() != "site@1" || c.Config.Sync.URL != sa.srv.URL {
		t.Fatalf("after the rollback it runs %s against %s", c.Config.HubVersion(), c.Config.Sync.URL)
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return sa.fleetConfig(t).Refused == "site@3" }, "the hub to hear site@3 was refused")
	if fc := sa.fleetConfig(t); !strings.Contains(fc.Reason, "no push accepted") || fc.Version != "site@1" {
		t.Fatalf("rollback as the fleet has it: %+v", fc)
	}
	if b := getBody(t, ticketURL, ""); !strings.Contains(b, `"waiting"`) {
		t.Fatalf("the ticket was lost across the rollback: %s", b)
	}

	// 4. A technician edits the site file: the edit wins, the hub's offers wait.
	local, _ := os.ReadFile(sa.site)
	if err := os.WriteFile(sa.site, append(local, []byte("# quầy 2 đổi máy in, sửa tại chỗ\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return sa.fleetConfig(t).Source == "local" }, "the hub to hear of the local edit")
	sa.publish(t, "4", "log:\n  level: error\n")
	time.Sleep(3 * time.Second) // several pushes, each answered with the offer
	select {
	case <-sa.apps:
		t.Fatal("the hub's configuration overwrote a technician's edit")
	default:
	}
	dash := getBody(t, sa.base+"/api/v1/dashboard", sa.cur.Tokens[web.RoleCounter])
	if !strings.Contains(dash, "Tệp cấu hình tại máy đã được sửa") || !strings.Contains(dash, "site@4") {
		t.Fatalf("the dashboard does not say the edit holds the hub's configuration back: %.600s", dash)
	}
	browsertest.Do(t, tab, "fleet page, local edit", chromedp.Navigate(sa.srv.URL+"/?token="+sa.token),
		browsertest.Poll(`document.querySelector("#fleet .local-edit") !== null`), chromedp.ScrollIntoView("#fleet-section"))
	if cell := browsertest.TextContent(t, tab, "#fleet td.config"); !strings.Contains(cell, "Kỹ thuật viên đã sửa cấu hình tại máy") ||
		!strings.Contains(cell, "Chờ áp dụng bản site@4") {
		t.Fatalf("fleet page's config cell with a local edit: %q", cell)
	}
	browsertest.Screenshot(t, tab, "hub-fleet-config-local")
	browsertest.Do(t, tab, "the agent's dashboard, local edit", chromedp.Navigate(sa.base+"/?token="+sa.cur.Tokens[web.RoleAdmin]),
		browsertest.Poll(`document.body.textContent.includes("Tệp cấu hình tại máy đã được sửa")`))
	browsertest.Eval[bool](t, tab, `(() => { const e = [...document.querySelectorAll("*")].find(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.includes("Cấu hình từ máy chủ tỉnh"))); e.scrollIntoView(); return true })()`)
	browsertest.Screenshot(t, tab, "agent-dashboard-config-local")

	// `config use-hub` hands the file back: the next offer applies over the edit.
	l, err := OpenHubLayer(sa.cur.Config.DataDir, sa.site)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UseHub(); err != nil {
		t.Fatal(err)
	}
	if d := sa.next(t, "applying site@4 after use-hub"); d.Config.HubVersion() != "site@4" || d.Config.Log.Level != "error" {
		t.Fatalf("after use-hub it runs %s", d.Config.HubVersion())
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		fc := sa.fleetConfig(t)
		return fc.Version == "site@4" && fc.Source == "hub"
	}, "the hub to hear site@4 runs")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
