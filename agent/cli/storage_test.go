package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"motcua-agent/internal/testkit"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentProc is a running `motcua-agent run` whose log the test reads.
type agentProc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	mu   sync.Mutex
	log  []string
	exit chan error
}

func startAgentProc(t *testing.T, dir string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{dir: dir, exit: make(chan error, 1)}
	p.cmd = exec.Command(agentBin, append([]string{"run", "--data", dir, "--listen", "127.0.0.1:0"}, args...)...)
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exit })
	addrRe := regexp.MustCompile(`http=(127\.0\.0\.1:[0-9]+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		p.exit <- p.cmd.Wait()
	}()
	select {
	case p.addr = <-found:
	case err := <-p.exit:
		p.exit <- err
		t.Fatalf("agent exited before serving (%v):\n%s", err, p.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not start:\n%s", p.logText())
	}
	return p
}

func (p *agentProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// token is a role's token: from the data folder when the agent generated it, else the
// embedded demo config's.
func (p *agentProc) token(t *testing.T, role string) string {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(p.dir, "tokens", role)); err == nil {
		return strings.TrimSpace(string(b))
	}
	demo := map[string]string{"kiosk": "demo-kiosk-token-0001", "counter": "demo-counter-token-01",
		"display": "demo-display-token-01", "admin": "demo-admin-token-00001"}
	return demo[role]
}

// call makes one request and returns the status, the Retry-After header and the body.
func (p *agentProc) call(t *testing.T, method, path, token, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header.Get("Retry-After"), m
}

// A full disk under a running agent, through its HTTP API: every write is refused with
// 503 and Retry-After, /healthz says why, the log says it once, and when space comes
// back the agent takes writes by itself with every acknowledged ticket still counted and
// no number given twice. (Linux will not turn a mount read-only while the agent holds
// its record open for writing; a read-only record at start is TestOpenReadOnlyDisk and
// TestServiceRunExitsOnFailure.)
func TestStorageFaultsEndToEnd(t *testing.T) {
	dir := testkit.MountTmpfs(t, "24m")
	p := startAgentProc(t, dir)
	kiosk := p.token(t, "kiosk")
	counter := p.token(t, "counter")
	acked := map[float64]bool{}
	issue := func() (int, string) {
		code, retry, body := p.call(t, "POST", "/api/v1/tickets", kiosk, `{"service":"A"}`)
		if code == 200 || code == 201 {
			tk, _ := body["ticket"].(map[string]any)
			n, _ := tk["number"].(float64)
			if n == 0 {
				t.Fatalf("issued ticket without a number: %v", body)
			}
			if acked[n] {
				t.Fatalf("ticket number %v given twice", n)
			}
			acked[n] = true
		}
		return code, retry
	}
	for range 5 {
		if code, _ := issue(); code != 200 && code != 201 {
			t.Fatalf("issue on a healthy disk: %d", code)
		}
	}
	healthz := func() (int, map[string]any) {
		code, _, body := p.call(t, "GET", "/healthz", "", "")
		return code, body
	}

	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run() // stops at ENOSPC
	refused := 0
	for range 40 {
		code, retry := issue()
		if code == 503 {
			if retry == "" {
				t.Fatal("503 without Retry-After")
			}
			refused++
		} else if code != 200 && code != 201 {
			t.Fatalf("issue on a full disk: %d, want 200 or 503", code)
		}
		if refused >= 5 {
			break
		}
	}
	if refused < 5 {
		t.Fatalf("a full disk never refused a ticket")
	}
	if code, body := healthz(); code != 503 || body["store"] != "disk_full" || !strings.Contains(body["store_message"].(string), "đầy") {
		t.Fatalf("healthz on a full disk: %d %v", code, body)
	}
	code, _, _ := p.call(t, "POST", "/api/v1/dossiers/H40.22-230701-0001/received", counter, `{"service":"13"}`)
	if code != 503 {
		t.Fatalf("dossier on a full disk: %d, want 503", code)
	}
	if n := strings.Count(p.logText(), "cannot take writes"); n != 1 {
		t.Fatalf("the fault was logged %d times, want once:\n%s", n, p.logText())
	}

	// Space comes back: the agent notices by itself.
	os.Remove(filler)
	waitHealthy := func(what string) {
		t.Helper()
		testkit.Eventually(t, 30*time.Second, func() bool { code, body := healthz(); return code == 200 && body["store"] == "ok" },
			"%s: healthz never recovered:\n%s", what, p.logText)
	}
	waitHealthy("space freed")
	for range 3 {
		if code, _ := issue(); code != 200 && code != 201 {
			t.Fatalf("issue after space came back: %d", code)
		}
	}

	// Every acknowledged ticket is counted, once.
	_, _, body := p.call(t, "GET", "/api/v1/counters", counter, "")
	var issued float64
	raw, _ := json.Marshal(body)
	var view struct {
		Counters []struct {
			Metric string  `json:"metric"`
			Value  float64 `json:"value"`
		} `json:"counters"`
	}
	json.NewDecoder(bytes.NewReader(raw)).Decode(&view)
	for _, c := range view.Counters {
		if c.Metric == "tickets.issued" {
			issued += c.Value
		}
	}
	if int(issued) != len(acked) {
		t.Fatalf("tickets.issued = %v, acknowledged %d:\n%s", issued, len(acked), raw)
	}
	t.Logf("acknowledged %d tickets, refused %d on a full disk; log:\n%s", len(acked), refused, p.logText())
}
