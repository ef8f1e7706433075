package installtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// Wine's own service manager starts, stops and sees the failure of a Go service that
// offers itself to the dispatcher (internal/winservice), which is what the agent's
// `service run` does through it. The service is winservice's test binary.
func TestWineServiceManagerWithWinservice(t *testing.T) {
	needWine(t)
	exe := buildWindowsTests(t, "./internal/winservice")
	if out, code := run(t, time.Minute, wine(exe, "-test.run", "^TestRunFromConsole$", "-test.v")); code != 0 || !strings.Contains(out, "--- PASS") {
		t.Fatalf("from a console: exit %d:\n%s", code, out)
	}

	dir := t.TempDir()
	const name = "motcua-svc-test"
	binPath := func(mode string) string {
		return winPath(exe) + " -test.run=^TestServiceChild$ -child-dir=" + winPath(dir) + " -child-mode=" + mode
	}
	if out, code := run(t, time.Minute, wine("sc.exe", "create", name, "binPath=", binPath("serve"))); code != 0 {
		t.Fatalf("sc create: exit %d:\n%s", code, out)
	}
	t.Cleanup(func() { run(t, time.Minute, wine("sc.exe", "delete", name)) })
	// sc prints the state it finds right after asking for the start: a service that
	// has not told the manager it runs yet (a loaded machine) is still START_PENDING.
	if out, code := run(t, time.Minute, wine("sc.exe", "start", name)); code != 0 || !strings.Contains(out, "RUNNING") && !strings.Contains(out, "START_PENDING") {
		t.Fatalf("sc start: exit %d:\n%s", code, out)
	}
	waitFile(t, filepath.Join(dir, "started"), "serve")
	if !processRunning("-child-mode=serve") {
		t.Fatal("the running service's process is not in the process table (the failure check below relies on it)")
	}
	var query string
	testkit.Eventually(t, 20*time.Second, func() bool {
		query, _ = run(t, time.Minute, wine("sc.exe", "query", name))
		return strings.Contains(query, "RUNNING")
	}, "sc query to say RUNNING (last:\n%s)", func() string { return query })
	if out, code := run(t, time.Minute, wine("sc.exe", "stop", name)); code != 0 {
		t.Fatalf("sc stop: exit %d:\n%s", code, out)
	}
	waitFile(t, filepath.Join(dir, "stopped"), "code=0 service=true")

	// A service whose agent fails exits non-zero without saying "stopped", so the
	// service manager counts a failure.
	os.Remove(filepath.Join(dir, "started"))
	os.Remove(filepath.Join(dir, "stopped"))
	// (wine's sc has no `config`: the service is registered again)
	run(t, time.Minute, wine("sc.exe", "delete", name))
	if out, code := run(t, time.Minute, wine("sc.exe", "create", name, "binPath=", binPath("fail"))); code != 0 {
		t.Fatalf("sc create: exit %d:\n%s", code, out)
	}
	run(t, time.Minute, wine("sc.exe", "start", name))
	waitFile(t, filepath.Join(dir, "started"), "fail")
	// Wine's service manager does not notice a service process ending (it still says
	// RUNNING), so the end is seen in the process table.
	testkit.Eventually(t, 20*time.Second, func() bool { return !processRunning("-child-mode=fail") },
		"the failed service's process to end")
	if _, err := os.Stat(filepath.Join(dir, "stopped")); err == nil {
		t.Fatal("the failed service returned from Run instead of exiting")
	}
}

// waitFile waits up to 20 s for a file with the given content.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var b []byte
	testkit.Eventually(t, 20*time.Second, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && string(b) == want
	}, "%s to hold %q (%s)", filepath.Base(path), want, func() string { return fmt.Sprintf("%q", b) })
}

// processRunning reports whether a process whose command line contains s is alive.
func processRunning(s string) bool {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
