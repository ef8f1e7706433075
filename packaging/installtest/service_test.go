package installtest

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// agentUsesWinservice: the agent's `service run` goes through internal/winservice
// (run as a service when services.exe started it, else in the foreground, exiting
// non-zero when the agent fails). Until agent/cmd_service.go does, `service run` uses
// the service library, whose check "parent is services.exe in session 0" fails under
// wine (every process is in session 1): the agent then never answers wine's service
// manager ("Service request timeout", 1053), and it keeps waiting for a stop request
// after the agent has failed. Flip this when the agent is wired.
const agentUsesWinservice = true

// The Windows service under wine: install, registration, status, the service entry
// point in the foreground (start, serve, stop on request), and, once the agent runs
// through internal/winservice, start, status, /healthz and stop through wine's own
// service manager; then uninstall.
func TestWineServiceLifecycle(t *testing.T) {
	needWine(t)
	exe := agentBinary(t, "windows")
	addr := freeAddr(t)
	cfg, _ := wineSite(t, addr)

	out, code := run(t, time.Minute, wine(exe, "service", "install", "--config", winPath(cfg)))
	if code != 0 {
		t.Fatalf("service install: exit %d:\n%s", code, out)
	}
	t.Cleanup(func() { run(t, time.Minute, wine(exe, "service", "uninstall")) })
	svcKey := `HKLM\System\CurrentControlSet\Services\motcua-agent`
	reg, code := run(t, time.Minute, wine("reg.exe", "query", svcKey))
	if code != 0 || !strings.Contains(reg, `service run --config `+winPath(cfg)) {
		t.Fatalf("the registered service does not run `service run --config %s`:\n%s", winPath(cfg), reg)
	}
	if !regexp.MustCompile(`Start\s+REG_DWORD\s+0x2\b`).MatchString(reg) {
		t.Fatalf("the service does not start at boot (Start should be 2, automatic):\n%s", reg)
	}
	// Recovery actions are not checked here: wine 8's service manager accepts
	// ChangeServiceConfig2(SERVICE_CONFIG_FAILURE_ACTIONS) and stores nothing.
	if out, _ := run(t, time.Minute, wine(exe, "service", "status")); !strings.Contains(out, "stopped") {
		t.Fatalf("service status before start: %s", out)
	}

	if agentUsesWinservice {
		if out, code := run(t, time.Minute, wine(exe, "service", "start")); code != 0 {
			t.Fatalf("service start: exit %d:\n%s", code, out)
		}
		if out, _ := run(t, time.Minute, wine(exe, "service", "status")); !strings.Contains(out, "running") {
			t.Fatalf("service status after start: %s", out)
		}
		waitHealthy(t, addr, 60*time.Second, nil)
		if out, code := run(t, time.Minute, wine(exe, "service", "stop")); code != 0 {
			t.Fatalf("service stop: exit %d:\n%s", code, out)
		}
		if out, _ := run(t, time.Minute, wine(exe, "service", "status")); !strings.Contains(out, "stopped") {
			t.Fatalf("service status after stop: %s", out)
		}
		if _, err := getHealth(addr); err == nil {
			t.Fatal("/healthz still answers after service stop")
		}
	}

	// The service entry point, in the foreground: it serves, and a stop request
	// (Ctrl-C) ends it cleanly with exit 0.
	p := start(t, wine(exe, "service", "run", "--config", winPath(cfg)))
	waitHealthy(t, addr, 60*time.Second, p.exited)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("service run: exit %d after a stop request, want 0:\n%s", code, p.output())
	}

	out, code = run(t, time.Minute, wine(exe, "service", "uninstall"))
	if code != 0 {
		t.Fatalf("service uninstall: exit %d:\n%s", code, out)
	}
	if reg, code := run(t, time.Minute, wine("reg.exe", "query", svcKey)); code == 0 {
		t.Fatalf("the service is still registered after uninstall:\n%s", reg)
	}
}

// A service that cannot start (its port is taken) must exit non-zero, so Windows'
// recovery actions (or systemd's Restart=always) start it again.
func TestWineServiceRunFailsLoudly(t *testing.T) {
	if !agentUsesWinservice {
		t.Skip("service run does not yet exit when the agent fails (agent/cmd_service.go keeps waiting for a stop request); see agentUsesWinservice")
	}
	needWine(t)
	exe := agentBinary(t, "windows")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg, _ := wineSite(t, taken.Addr().String())
	p := start(t, wine(exe, "service", "run", "--config", winPath(cfg)))
	if code := p.wait(t, 60*time.Second); code == 0 {
		t.Fatalf("service run on a taken port: exit 0, want non-zero:\n%s", p.output())
	}
	if !strings.Contains(p.output(), "is another agent running") {
		t.Fatalf("the failure does not say why:\n%s", p.output())
	}
}
