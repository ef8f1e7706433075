package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// buildAgentVersion builds motcua-agent as a release of version would be built.
func buildAgentVersion(t *testing.T, version string) string {
	t.Helper()
	out := filepath.Join(filepath.Dir(agentBin), "motcua-agent-"+version)
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X motcua-agent/agent/app.Version="+version, "motcua-agent/agent/cmd/motcua-agent")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build agent %s: %v\n%s", version, err, b)
	}
	return out
}

// serviceLoop runs the agent as the Debian unit does under systemd: ExecStartPre is
// the packaged binary's `update boot`, ExecStart what it prints, Restart=always.
type serviceLoop struct {
	mu     sync.Mutex
	proc   *os.Process
	starts int
	stop   chan struct{}
	done   chan struct{}
}

func startServiceLoop(t *testing.T, packaged, data, cfgPath string, log *os.File) *serviceLoop {
	s := &serviceLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			exe, err := exec.Command(packaged, "update", "boot", "--data", data).Output()
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			cmd := exec.Command(strings.TrimSpace(string(exe)), "run", "--config", cfgPath, "--data", data)
			cmd.Stdout, cmd.Stderr = log, log
			if cmd.Start() == nil {
				s.mu.Lock()
				s.proc = cmd.Process
				s.starts++
				s.mu.Unlock()
				cmd.Wait()
			}
			time.Sleep(200 * time.Millisecond) // RestartSec, shortened
		}
	}()
	t.Cleanup(func() {
		close(s.stop)
		s.mu.Lock()
		if s.proc != nil {
			s.proc.Kill()
		}
		s.mu.Unlock()
		<-s.done
	})
	return s
}

type rolloutStatus struct {
	Release string `json:"release"`
	State   string `json:"state"`
	Counts  struct {
		Offered, Committed int
		RolledBack         int `json:"rolled_back"`
	} `json:"counts"`
}

// A counter PC under a restart-always supervisor takes a release from its hub's
// rollout: the hub serves --releases, `rollout start` offers 2.0.0, the agent (1.0.0)
// verifies, applies, exits, starts as 2.0.0 on trial, proves healthy (pages, a push
// accepted) and commits; the hub counts it. A second release that crashes at start
// is rolled back by the service's boot after its starts, 2.0.0 runs again and its
// heartbeat tells the hub, which counts the rollback with its reason.
func TestRolloutThroughTheHubUnderTheSupervisor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two agents and runs them under a supervisor")
	}
	v1, v2 := buildAgentVersion(t, "1.0.0"), buildAgentVersion(t, "2.0.0")
	dir := t.TempDir()
	rel := filepath.Join(dir, "rel")
	if out, code := runCmd(t, hubCmd("release", "init", "--dir", rel)); code != 0 {
		t.Fatalf("release init: %d %s", code, out)
	}
	if out, code := runCmd(t, hubCmd("release", "publish", "--dir", rel, "--version", "2.0.0", "--linux", v2)); code != 0 {
		t.Fatalf("release publish: %d %s", code, out)
	}
	hubDB := filepath.Join(dir, "hub.db")
	hubProc := hubCmd("serve", "--listen", "127.0.0.1:0", "--db", hubDB, "--open-fleet", "--releases", rel)
	stderr, _ := hubProc.StderrPipe()
	if err := hubProc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hubProc.Process.Kill(); hubProc.Wait() }()
	hubURL := testkit.WaitLine(t, stderr, regexp.MustCompile(`url=(http://127\.0\.0\.1:[0-9]+)`))
	out, code := runCmd(t, hubCmd("enroll", "--db", hubDB, "--site", "vinh-phu", "--device", "quay-1", "--url", hubURL))
	m := regexp.MustCompile(`secret: "([0-9a-f]+)"`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("enroll: %d %s", code, out)
	}
	port := freePort(t)
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "site.yaml")
	os.WriteFile(filepath.Join(dir, "device.key"), []byte(m[1]+"\n"), 0o600)
	site := fmt.Sprintf("site:\n  province_code: \"40\"\n  commune_code: \"16681\"\n  name: Trung tâm\n  id: vinh-phu\n  device_id: quay-1\n"+
		"data_dir: data\nhttp:\n  listen: 127.0.0.1:%d\nsync:\n  url: %s\n  secret_file: device.key\n  interval: 1s\n"+
		"update:\n  root_file: rel/repository/1.root.json\n  check_every: 1m\n", port, hubURL)
	os.WriteFile(cfgPath, []byte(site), 0o600)
	if out, code := runCmd(t, exec.Command(v1, "config", "check", cfgPath)); code != 0 || !strings.Contains(out, "root_file:") {
		t.Fatalf("config check: %d\n%s", code, out)
	}
	log, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("agent log:\n%s", b)
		}
	}()
	svc := startServiceLoop(t, v1, data, cfgPath, log)
	healthz := func() (version string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var h struct{ Version string }
		json.NewDecoder(resp.Body).Decode(&h)
		return h.Version
	}
	testkit.Eventually(t, 60*time.Second, func() bool { return healthz() == "1.0.0" }, "the agent 1.0.0 serving")

	status := func() []rolloutStatus {
		out, code := runCmd(t, hubCmd("rollout", "status", "--json", "--db", hubDB))
		var rs []rolloutStatus
		if code != 0 || json.Unmarshal([]byte(out), &rs) != nil {
			t.Fatalf("rollout status: %d %s", code, out)
		}
		return rs
	}
	if out, code := runCmd(t, hubCmd("rollout", "start", "--db", hubDB, "--releases", rel, "--release", "2.0.0", "--percent", "0", "--canary", "vinh-phu")); code != 0 {
		t.Fatalf("rollout start: %d %s", code, out)
	}
	testkit.Eventually(t, 90*time.Second, func() bool {
		rs := status()
		return healthz() == "2.0.0" && rs[0].Counts.Committed == 1
	}, "2.0.0 applied, committed and counted")
	out, _ = runCmd(t, exec.Command(v1, "update", "status", "--data", data))
	if !strings.Contains(out, "current:  2.0.0") || !strings.Contains(out, "previous: 1.0.0") || !strings.Contains(out, "last update:  committed 2.0.0") {
		t.Fatalf("update status after the commit:\n%s", out)
	}

	// 2.1.0 is broken: it exits at once, every start.
	broken := filepath.Join(dir, "broken")
	os.WriteFile(broken, []byte("#!/bin/sh\necho 'broken build' >&2\nexit 3\n"), 0o755)
	if out, code := runCmd(t, hubCmd("release", "publish", "--dir", rel, "--version", "2.1.0", "--linux", broken)); code != 0 {
		t.Fatalf("publish 2.1.0: %d %s", code, out)
	}
	svc.mu.Lock()
	startsBefore := svc.starts
	svc.mu.Unlock()
	if out, code := runCmd(t, hubCmd("rollout", "start", "--db", hubDB, "--releases", rel, "--release", "2.1.0", "--percent", "100", "--min-sample", "1", "--halt-at", "0.5")); code != 0 {
		t.Fatalf("rollout start 2.1.0: %d %s", code, out)
	}
	testkit.Eventually(t, 90*time.Second, func() bool {
		rs := status()
		return rs[0].Release == "2.1.0" && rs[0].Counts.RolledBack == 1
	}, "2.1.0 rolled back and counted at the hub")
	if v := healthz(); v != "2.0.0" {
		t.Fatalf("after the rollback the agent runs %q", v)
	}
	svc.mu.Lock()
	starts := svc.starts - startsBefore
	svc.mu.Unlock()
	if starts < 4 {
		t.Errorf("%d starts since 2.1.0 was offered, want 2.0.0 once, 2.1.0 crashing, 2.0.0 again", starts)
	}
	out, _ = runCmd(t, hubCmd("rollout", "status", "--db", hubDB))
	if !strings.Contains(out, "Rollout 2 of 2.1.0: halted") || !strings.Contains(out, "rolled back 1") {
		t.Fatalf("rollout status:\n%s", out)
	}
	out, _ = runCmd(t, exec.Command(v1, "update", "status", "--data", data))
	if !strings.Contains(out, "current:  2.0.0") || !strings.Contains(out, "2.1.0: started 4 times") || !strings.Contains(out, "last update:  rolled_back 2.1.0") {
		t.Fatalf("update status after the rollback:\n%s", out)
	}
}
