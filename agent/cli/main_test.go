package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/agent/app"
	"motcua-agent/agent/queue"
	"motcua-agent/agent/store"
	"motcua-agent/config"
)

// agentBin and hubBin are the two programs, built once for the package's tests.
var agentBin, hubBin string

// repoRoot is the folder holding go.mod.
func repoRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "motcua-bin")
	if err != nil {
		panic(err)
	}
	agentBin = filepath.Join(dir, "motcua-agent")
	hubBin = filepath.Join(dir, "motcua-hub")
	for bin, pkg := range map[string]string{agentBin: "motcua-agent/agent/cmd/motcua-agent", hubBin: "motcua-agent/sync/cmd/motcua-hub"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBin(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runCmd(t, exec.Command(agentBin, args...))
}

// hubCmd is motcua-hub with args, reading no settings file of the machine's.
func hubCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(os.Environ(), "MOTCUA_HUB_CONFIG=none")
	return cmd
}

func runCmd(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("site:\n  province_code: \"1\"\n  colour: red\nhttp:\n  listen: nowhere\n"), 0o644)
	out, code := runBin(t, "config", "check", bad)
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, out)
	}
	for _, want := range []string{"site.colour: unknown key", "site.province_code:", "http.listen:", "site.commune_code:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	good := filepath.Join(dir, "site.yaml")
	b, _ := config.Example("counter")
	os.WriteFile(good, b, 0o644)
	out, code = runBin(t, "config", "check", good)
	if code != 0 || !strings.Contains(out, "commune_code: \"16681\"") || !strings.Contains(out, "retention_days: 180") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if _, code := runBin(t, "nonsense"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

// The agent in the foreground, stopped by SIGTERM as a supervisor would: it must exit 0
// promptly with its record closed cleanly.
func TestRunStopsCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(agentBin, "run", "--data", dir, "--listen", "127.0.0.1:0")
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addrRe := regexp.MustCompile(`http=(127\.0\.0\.1:[0-9]+)`)
	var addr string
	var log []string
	deadline := time.After(60 * time.Second)
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("agent exited before serving:\n%s", strings.Join(log, "\n"))
			}
			log = append(log, l)
			if m := addrRe.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-deadline:
			t.Fatalf("agent did not start:\n%s", strings.Join(log, "\n"))
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h["site"] != "demo-site" {
		t.Fatalf("healthz %d %v", resp.StatusCode, h)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			log = append(log, l)
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(log, "\n"))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM:\n%s", strings.Join(log, "\n"))
	}
	if !strings.Contains(strings.Join(log, "\n"), "stopped cleanly") {
		t.Errorf("no clean-stop line:\n%s", strings.Join(log, "\n"))
	}
	// The record reopens without recovery and the secret and tokens were created 0600.
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if m, _ := filepath.Glob(filepath.Join(dir, "agent.db.corrupt-*")); len(m) > 0 {
		t.Fatal("record was damaged by the shutdown")
	}
	fi, err := os.Stat(filepath.Join(dir, "secret", "id-hmac.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret: %v %v", err, fi)
	}
}

func TestTokensGeneratedOnFirstRun(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`site: {province_code: "40", commune_code: "16681", id: s, name: N, device_id: d}`),
		filepath.Join(dir, "s.yaml"), config.Overrides{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.LoadTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := app.LoadTokens(cfg)
	if len(a) != 5 || a["admin"] == "" || a["admin"] != b["admin"] || a["admin"] == a["kiosk"] || a["rating"] == "" {
		t.Fatalf("tokens %v then %v", a, b)
	}
	fi, _ := os.Stat(filepath.Join(dir, "tokens", "admin"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", fi.Mode().Perm())
	}
}

func TestServiceDefinition(t *testing.T) {
	sc, err := serviceConfig("site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Arguments) != 4 || sc.Arguments[0] != "service" || sc.Arguments[1] != "run" || !filepath.IsAbs(sc.Arguments[3]) {
		t.Fatalf("service arguments %v: the config path must be absolute", sc.Arguments)
	}
	root := t.TempDir()
	path, err := writeSystemdDropIn(root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	unit := string(b)
	if !strings.HasPrefix(path, filepath.Join(root, "etc/systemd/system/motcua-agent.service.d")) {
		t.Errorf("drop-in at %s", path)
	}
	for _, want := range []string{"[Service]", "Restart=always", "RestartSec=3\n", "[Unit]", "StartLimitIntervalSec="} {
		if !strings.Contains(unit, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, unit)
		}
	}
	if out, code := runBin(t, "service", "install"); code != 2 || !strings.Contains(out, "--config") {
		t.Errorf("service install without --config: exit %d %s", code, out)
	}
	if out, code := runBin(t, "service", "frobnicate"); code != 2 || !strings.Contains(out, "unknown service command") {
		t.Errorf("unknown service verb: exit %d %s", code, out)
	}
}

func TestDevicesWithoutPCSCService(t *testing.T) {
	cmd := exec.Command(agentBin, "devices", "--json")
	// pcsc-lite's client finds pcscd through this socket path: point it nowhere.
	cmd.Env = append(os.Environ(), "PCSCLITE_CSOCK_NAME="+filepath.Join(t.TempDir(), "no-pcscd.sock"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("devices failed instead of explaining: %v %s", err, out)
	}
	var d deviceList
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) == 0 || !strings.Contains(d.Problems[0], "PC/SC service is not running") {
		t.Fatalf("problems = %v", d.Problems)
	}
}

func TestDevicesListsVirtualReader(t *testing.T) {
	if _, err := exec.LookPath("pcscd"); err != nil {
		t.Skip("pcscd not installed")
	}
	out, code := runBin(t, "devices", "--json")
	var d deviceList
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
		t.Fatalf("exit %d: %s", code, out)
	}
	if len(d.Problems) > 0 {
		t.Skipf("pcscd not running here: %v", d.Problems)
	}
	found := false
	for _, r := range d.Readers {
		found = found || strings.HasPrefix(r.Name, "Virtual PCD")
	}
	if !found {
		t.Fatalf("vsmartcard reader not listed: %+v", d.Readers)
	}
}

func TestEventsAndCountersReadTheRecord(t *testing.T) {
	dir := t.TempDir()
	if out, code := runBin(t, "events", "--data", dir); code != 1 || !strings.Contains(out, "no record at") {
		t.Fatalf("events on an empty folder: exit %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret")); err == nil {
		t.Fatal("a look at the record created a secret")
	}
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	st.Append(context.Background(), store.Event{Kind: "queue.ticket.issued", Counts: []store.Count{{Metric: "tickets.issued", Dims: map[string]string{"service": "A"}, Value: 2}},
		Attrs: store.AttrsOf(queue.IssuedAttrs{TicketAttrs: queue.TicketAttrs{Number: 1001}, Priority: true})})
	st.Append(context.Background(), store.Event{Kind: "queue.counter.paused", Counter: "2"})
	st.Close()
	out, code := runBin(t, "events", "--data", dir, "--json")
	if code != 0 || !strings.Contains(out, `"kind":"queue.ticket.issued"`) || !strings.Contains(out, `"attrs":{"number":1001,"priority":true}`) ||
		strings.Count(out, `"attrs"`) != 1 {
		t.Fatalf("events: exit %d %s", code, out)
	}
	out, code = runBin(t, "events", "--data", dir)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 3 ||
		!strings.HasSuffix(lines[1], `{"number":1001,"priority":true}`) || !strings.HasSuffix(lines[2], "queue.counter.paused  2") {
		t.Fatalf("events as a table: exit %d %s", code, out)
	}
	out, code = runBin(t, "counters", "--data", dir, "--day", "all", "--json")
	if code != 0 || !strings.Contains(out, `"metric": "tickets.issued"`) || !strings.Contains(out, `"value": 2`) {
		t.Fatalf("counters: exit %d %s", code, out)
	}
}

// The counter's binary carries the upload client, never the provincial server, its
// database drivers, its page or its spreadsheet writer.
func TestAgentBinaryCarriesNoHub(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "motcua-agent/agent/cmd/motcua-agent").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "motcua-agent/sync/hub") || strings.HasPrefix(pkg, "motcua-agent/sync/cmd") ||
			strings.HasPrefix(pkg, "github.com/jackc/") {
			t.Errorf("motcua-agent links %s", pkg)
		}
	}
}
