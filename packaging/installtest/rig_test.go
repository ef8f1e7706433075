package installtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// mainPackage is the agent's main package, relative to the repository root: the one
// line to change when it moves (the Makefile's MAIN says the same).
const mainPackage = "./agent/cmd/motcua-agent"

// testVersion is stamped into the binaries the tests build, so `version` proves the
// binary under test is the one just built.
const testVersion = "installtest-1"

var (
	repoRoot string // the module root
	workDir  string // shared by every test of the run: binaries, the wine prefix
)

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp("", "motcua-installtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	if winePrefix != "" {
		// End the prefix's wineserver and every process in it before removing it.
		if wineKeeper != nil {
			wineKeeper.Close()
		}
		_ = wineCommand("wineserver", "-k").Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAgent builds the agent for goos (linux or windows) into out, with the flags
// the Makefile's build and build-windows targets use.
func buildAgent(goos, out string) error {
	cmd := exec.Command("go", "build", "-ldflags", "-X motcua-agent/agent/app.Version="+testVersion, "-o", out, mainPackage)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	if goos == "windows" {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1", "GOOS=windows", "GOARCH=amd64", "CC=x86_64-w64-mingw32-gcc")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build (%s): %v\n%s", goos, err, b)
	}
	return nil
}

// built caches one binary per goos for the whole run.
var built struct {
	sync.Mutex
	path map[string]string
	err  map[string]error
}

func agentBinary(t *testing.T, goos string) string {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if built.path == nil {
		built.path, built.err = map[string]string{}, map[string]error{}
	}
	if p, ok := built.path[goos]; ok {
		if err := built.err[goos]; err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(workDir, "bin-"+goos, "motcua-agent")
	if goos == "windows" {
		out += ".exe"
		if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
			t.Skip("x86_64-w64-mingw32-gcc not installed (Debian package gcc-mingw-w64-x86-64)")
		}
	}
	err := buildAgent(goos, out)
	built.path[goos], built.err[goos] = out, err
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// health is the part of /healthz the tests read.
type health struct {
	Status  string `json:"status"`
	Store   string `json:"store"`
	Version string `json:"version"`
	LastSeq int64  `json:"last_seq"`
}

// waitHealthy polls /healthz until it answers with the store ok (the status may say
// degraded when a configured device is absent) or the time is up; exited reports
// early when the process under test has ended.
func waitHealthy(t *testing.T, addr string, within time.Duration, exited <-chan struct{}) health {
	t.Helper()
	var h health
	var last error
	testkit.Eventually(t, within, func() bool {
		select {
		case <-exited:
			t.Fatalf("the agent exited before /healthz answered (last error: %v)", last)
		default:
		}
		h, last = getHealth(addr)
		return last == nil && h.Store == "ok"
	}, "/healthz with the store ok on %s (%s)", addr, func() string { return fmt.Sprintf("%+v, %v", h, last) })
	return h
}

func getHealth(addr string) (health, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return health{}, err
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return health{}, fmt.Errorf("healthz: %v", err)
	}
	if h.Store != "ok" {
		return h, fmt.Errorf("healthz: status %q, store %q", h.Status, h.Store)
	}
	return h, nil
}

// issuedTicket is the part of POST /api/v1/tickets the tests read.
type issuedTicket struct {
	Ticket struct {
		Number int `json:"number"`
	} `json:"ticket"`
	Printed bool `json:"printed"`
}

func issueTicket(t *testing.T, addr, kioskToken, service string) issuedTicket {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/tickets", strings.NewReader(`{"service":"`+service+`"}`))
	req.Header.Set("Authorization", "Bearer "+kioskToken)
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("issue ticket: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issue ticket: HTTP %d", resp.StatusCode)
	}
	var it issuedTicket
	if err := json.NewDecoder(resp.Body).Decode(&it); err != nil {
		t.Fatalf("issue ticket: %v", err)
	}
	return it
}

// siteConfig is a counter site with fixed tokens, data in dataDir and tickets printed
// to ticketFile (paths as the agent will see them: Windows or Unix).
func siteConfig(listen, dataDir, ticketFile string) string {
	return fmt.Sprintf(`profile: counter
site: {province_code: "40", commune_code: "16681", id: test-site, name: "Trung tâm thử nghiệm", device_id: quay-1}
data_dir: '%s'
http:
  listen: %s
  tokens: {kiosk: kiosk-token-0000000001, counter: counter-token-00000001, display: display-token-00000001, admin: admin-token-0000000001}
queue:
  enabled: true
  services:
    - {code: A, name: "Chứng thực, hộ tịch", first: 1001, last: 1999}
  counters:
    - {id: "1", location: "Tầng 1", services: [A]}
printer:
  transport: file
  device: '%s'
`, dataDir, listen, ticketFile)
}

const kioskToken = "kiosk-token-0000000001"

// process is a started command whose end can be awaited from several places.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	out    *strings.Builder
	mu     *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func start(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, exited: make(chan struct{}), out: &strings.Builder{}, mu: &sync.Mutex{}}
	cmd.Stdout, cmd.Stderr = lockedWriter{p.mu, p.out}, lockedWriter{p.mu, p.out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the end and returns the exit code, failing the test after within.
func (p *process) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("still running after %v; output:\n%s", within, p.output())
		return -1
	}
}

// run runs a command to its end with a time limit and returns its combined output
// and exit code.
func run(t *testing.T, within time.Duration, cmd *exec.Cmd) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env, c.Dir, c.SysProcAttr = cmd.Env, cmd.Dir, cmd.SysProcAttr
	// A program that leaves a child holding its output (wine starting a service) must
	// not hold the test past its end.
	c.WaitDelay = 5 * time.Second
	b, err := c.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v:\n%s", strings.Join(cmd.Args, " "), within, b)
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
		}
	}
	return string(b), c.ProcessState.ExitCode()
}

func requireLinuxAmd64(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("these tests run on linux/amd64 (wine, dpkg)")
	}
}
