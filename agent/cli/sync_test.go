package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"motcua-agent/agent/app"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// appendWork appends a few days of counter work to a store: tickets per service and
// counter, unique visitors and a peak.
func appendWork(t *testing.T, st *store.Store, days int, perDay int) {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	for d := range days {
		for i := range perDay {
			svc := fmt.Sprint(1 + i%5)
			counter := fmt.Sprint(1 + i%2)
			ev := store.Event{Time: start.AddDate(0, 0, d).Add(time.Duration(i) * time.Minute), Kind: "dossier.received",
				Site: "s", Counter: counter, Service: svc,
				Counts: []store.Count{
					{Metric: vocab.TicketsServed, Dims: map[string]string{"service": svc, "counter": counter}, Op: store.OpAdd, Value: 1},
					{Metric: vocab.TicketsIssued, Dims: map[string]string{"service": svc}, Op: store.OpAdd, Value: 1},
					{Metric: vocab.GateUniqueVisitors, Op: store.OpUnique, Key: fmt.Sprint("h", i%7), Value: 1},
					{Metric: vocab.GatePeakOccupancy, Op: store.OpMax, Value: int64(60 * (i % 9))},
				}}
			if _, err := st.Append(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// hubRows returns one device's rows at the hub keyed like storeRows.
func hubRows(t *testing.T, h *hub.Hub, device string) map[string]int64 {
	t.Helper()
	rep, err := h.Totals(context.Background(), hub.Query{Period: hub.Period{From: "2000-01-01", To: "2100-01-01"},
		By: []string{"device", "day", "metric", "dims"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rep.Rows {
		if r.Keys[0] == device {
			out[r.Keys[1]+"|"+r.Keys[2]+"|"+r.Keys[3]] = r.Value
		}
	}
	return out
}

func storeRows(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	rows, err := st.Counters(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Day+"|"+r.Metric+"|"+wire.CanonicalDims(r.Dims)] = r.Value
	}
	return out
}

func equalRows(t *testing.T, want, got map[string]int64) {
	t.Helper()
	if len(want) == 0 || len(want) != len(got) {
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Logf("missing at the hub: %s", k)
			}
		}
		t.Fatalf("hub has %d rows, the store %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: hub %d, store %d", k, got[k], v)
		}
	}
}

// The client over the real store: everything arrives, exactly, across batches and
// re-pushes, and the watermark is kept in the store's meta.
func TestSyncWithRealStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	h, err := hub.Open(filepath.Join(dir, "hub.db"), hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	secret, err := h.Enroll(ctx, hub.Site{Code: "vinh-phu", Commune: "Phường Vinh Phú", Province: "Nghệ An"}, "quay-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`site: {province_code: "40", commune_code: "16681", id: vinh-phu, name: N, device_id: quay-1}
sync: {url: %q, secret: %q, batch_size: 13}`, srv.URL, secret)), filepath.Join(dir, "s.yaml"), config.Overrides{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendWork(t, st, 5, 30)
	c, err := app.NewSyncClient(cfg, app.StoreSource{Store: st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	equalRows(t, storeRows(t, st), hubRows(t, h, "quay-1"))
	// More work on an old day and a new one; a fresh client (a restart) sends only that.
	appendWork(t, st, 6, 3)
	c2, _ := app.NewSyncClient(cfg, app.StoreSource{Store: st}, nil)
	wmBefore, _ := upload.ReadWatermark(ctx, app.StoreSource{Store: st})
	if err := c2.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	if sent := c2.Status().Sent; sent == 0 || sent > 6*8 { // at most 8 rows change per day
		t.Fatalf("restarted client sent %d rows (watermark was %d); want only the changed ones", sent, wmBefore)
	}
	equalRows(t, storeRows(t, st), hubRows(t, h, "quay-1"))
	if block := app.SyncStatusBlock(c2.Status()); block.Rows[len(block.Rows)-1] != (web.Row{Label: "Tình trạng", Value: "Bình thường"}) {
		t.Fatalf("dashboard block %v", block)
	}
}

// The commands as a technician uses them: enroll at the hub, paste the lines, check the
// status, push now with and without a running agent, revoke.
func TestHubAndSyncCommands(t *testing.T) {
	dir := t.TempDir()
	hubDB := filepath.Join(dir, "hub.db")
	hubProc := hubCmd("serve", "--listen", "127.0.0.1:0", "--db", hubDB, "--open-fleet")
	stderr, _ := hubProc.StderrPipe()
	if err := hubProc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hubProc.Process.Kill(); hubProc.Wait() }()
	hubURL := testkit.WaitLine(t, stderr, regexp.MustCompile(`url=(http://127\.0\.0\.1:[0-9]+)`))

	out, code := runCmd(t, hubCmd("enroll", "--db", hubDB, "--site", "vinh-phu", "--device", "quay-1",
		"--province", "Nghệ An", "--commune", "Phường Vinh Phú", "--url", hubURL))
	if code != 0 {
		t.Fatalf("enroll: %d %s", code, out)
	}
	yamlStart := strings.Index(out, "site:\n")
	if yamlStart < 0 {
		t.Fatalf("enroll printed no config lines:\n%s", out)
	}
	var lines struct {
		Site struct {
			ID       string `yaml:"id"`
			DeviceID string `yaml:"device_id"`
		}
		Sync struct {
			URL    string `yaml:"url"`
			Secret string `yaml:"secret"`
		}
	}
	if err := yaml.Unmarshal([]byte(out[yamlStart:]), &lines); err != nil || lines.Sync.Secret == "" || lines.Sync.URL != hubURL {
		t.Fatalf("enroll lines %+v (%v):\n%s", lines, err, out)
	}

	// The site's config: its own fields plus the printed lines.
	agentPort := freePort(t)
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "site.yaml")
	site := fmt.Sprintf("site:\n  province_code: \"40\"\n  commune_code: \"16681\"\n  name: Trung tâm\n  id: %s\n  device_id: %s\n"+
		"data_dir: data\nhttp:\n  listen: 127.0.0.1:%d\nsync:\n  url: %s\n  secret_file: device.key\n", lines.Site.ID, lines.Site.DeviceID, agentPort, lines.Sync.URL)
	os.WriteFile(cfgPath, []byte(site), 0o600)
	os.WriteFile(filepath.Join(dir, "device.key"), []byte(lines.Sync.Secret+"\n"), 0o600)
	if out, code := runBin(t, "config", "check", cfgPath); code != 0 || strings.Contains(out, lines.Sync.Secret) {
		t.Fatalf("config check: %d\n%s", code, out)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(data, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	appendWork(t, st, 3, 10)
	want := storeRows(t, st)
	st.Close()

	out, code = runBin(t, "sync", "status", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Backlog:       %d counter rows", len(want))) || !strings.Contains(out, "Last success:  never") {
		t.Fatalf("status before: %d\n%s", code, out)
	}
	// No agent running: `sync now` pushes from the command itself.
	out, code = runBin(t, "sync", "now", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "State:         OK") {
		t.Fatalf("sync now: %d\n%s", code, out)
	}
	out, _ = runBin(t, "sync", "status", "--config", cfgPath, "--json")
	var status upload.Status
	if err := json.Unmarshal([]byte(out), &status); err != nil || status.Backlog != 0 || status.LastSuccess.IsZero() {
		t.Fatalf("status after: %+v %v\n%s", status, err, out)
	}
	// The hub's report shows the site's numbers.
	resp, err := http.Get(hubURL + "/api/v1/report?period=month&at=2026-11&by=site,metric&metric=tickets.issued")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `{"keys":["vinh-phu","tickets.issued"],"value":30}`) {
		t.Fatalf("hub report:\n%s", body)
	}

	// A running agent: `sync now` asks it through its local API.
	run := exec.Command(agentBin, "run", "--config", cfgPath)
	runErr, _ := run.StderrPipe()
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Kill(); run.Wait() }()
	testkit.WaitLine(t, runErr, regexp.MustCompile(`http=(127\.0\.0\.1:[0-9]+)`))
	out, code = runBin(t, "sync", "now", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "State:         OK") {
		t.Fatalf("sync now via agent: %d\n%s", code, out)
	}
	fleet := getJSON[[]hub.FleetAgent](t, hubURL+"/api/v1/fleet")
	if len(fleet) != 1 || fleet[0].Version == "" || fleet[0].Pushes < 2 {
		t.Fatalf("fleet %+v", fleet)
	}
	run.Process.Signal(os.Interrupt)
	run.Wait()

	// Revoked: the push is refused and the technician is told why.
	if out, code := runCmd(t, hubCmd("revoke", "--db", hubDB, "--device", "quay-1")); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	out, code = runBin(t, "sync", "now", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "revoked") {
		t.Fatalf("sync now when revoked: %d\n%s", code, out)
	}
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	var v T
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
