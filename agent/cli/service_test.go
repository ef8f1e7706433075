package cli

import (
	"motcua-agent/internal/testkit"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serviceConfigFile writes the demo config with the given data folder and listen
// address, as a site's config file for `service run`.
func serviceConfigFile(t *testing.T, data, listen string) string {
	t.Helper()
	out, code := runBin(t, "config", "example", "demo")
	if code != 0 {
		t.Fatalf("config example demo: %d %s", code, out)
	}
	out = strings.Replace(out, "data_dir: demo-data", "data_dir: "+data, 1)
	out = strings.Replace(out, "listen: 127.0.0.1:8606", "listen: "+listen, 1)
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// `service run` is what systemd and the Windows service manager start: when the agent
// cannot start it must exit non-zero at once, so Restart= and the recovery actions
// fire; stopped on request it exits 0.
func TestServiceRunExitsOnFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, []byte("x"), 0o600)
	for _, tc := range []struct {
		name, data, listen, says string
	}{
		{"port taken", t.TempDir(), taken.Addr().String(), "listen on"},
		{"data folder unusable", filepath.Join(notADir, "data"), "127.0.0.1:0", "data folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := serviceConfigFile(t, tc.data, tc.listen)
			cmd := exec.Command(agentBin, "service", "run", "--config", cfg)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if cmd.ProcessState.ExitCode() == 0 {
					t.Fatalf("service run exited 0 (%v) on a failed start:\n%s", err, out.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("service run still up 30 s after a failed start:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tc.says) {
				t.Errorf("output does not say %q:\n%s", tc.says, out.String())
			}
		})
	}
	t.Run("stopped on request", func(t *testing.T) {
		cfg := serviceConfigFile(t, t.TempDir(), "127.0.0.1:0")
		cmd := exec.Command(agentBin, "service", "run", "--config", cfg)
		var out testkit.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() }) // when it never starts
		testkit.Eventually(t, 60*time.Second, func() bool { return strings.Contains(out.String(), "agent running") },
			"the service to start:\n%s", out.String)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("stopped on request: %v\n%s", err, out.String())
		}
	})
}
