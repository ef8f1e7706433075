package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

var hubBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "motcua-hub-bin")
	if err != nil {
		panic(err)
	}
	hubBin = filepath.Join(dir, "motcua-hub")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=test-1.2", "-o", hubBin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hubCmd is the built motcua-hub with args, reading no settings file of the machine's.
func hubCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(os.Environ(), "MOTCUA_HUB_CONFIG=none")
	return cmd
}

func runHub(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := hubCmd(args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// Words a command does not know are refused with exit 2 and nothing started: before
// the hub was its own program, "hub config publish --help" started a server.
func TestUnknownWordsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"config", "publish", "--help"},
		{"serve", "config", "publish"},
		{"serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "x.db"), "extra"},
		{"enroll", "--site", "a", "--device", "b", "stray"},
		{"devices", "--colour"},
		{"site", "rename"},
		{"help", "nothing"},
		{"version", "now"},
	} {
		cmd := hubCmd(args...)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("motcua-hub %v is still running: it should have refused its words", args)
		}
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || strings.Contains(string(out), "hub listening") {
			t.Errorf("motcua-hub %v: %v, printed:\n%s", args, err, out)
		}
	}
	if out, code := runHub(t, "version"); code != 0 || strings.TrimSpace(out) != "motcua-hub test-1.2" {
		t.Errorf("version: %d %q", code, out)
	}
}

// The settings file as the package installs it: paths relative to its folder, the
// report token read from a file (so it is not in the process's command line), unknown
// keys refused, and no open page on a network address.
func TestSettingsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	token := "province-report-token-0123456789"
	os.WriteFile(filepath.Join(dir, "report-token"), []byte(token+"\n"), 0o600)
	conf := filepath.Join(dir, "hub.yaml")
	os.WriteFile(conf, []byte("listen: 127.0.0.1:0\ndb: hub.db\nreport_token_file: report-token\nstale_after: 24h\n"), 0o640)

	if out, code := runHub(t, "enroll", "--config", conf, "--site", "vinh-phu", "--device", "quay-1"); code != 0 || !strings.Contains(out, "secret:") {
		t.Fatalf("enroll with the settings file: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "hub.db")); err != nil {
		t.Fatalf("the database is not beside the settings file: %v", err)
	}
	cmd := hubCmd("serve", "--config", conf)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	u := testkit.WaitLine(t, stderr, regexp.MustCompile(`url=(http://\S+)`))
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); err == nil && bytes.Contains(cmdline, []byte(token)) {
		t.Fatal("the report token is on the command line")
	}
	for _, c := range []struct {
		query string
		want  int
	}{{"", http.StatusUnauthorized}, {"?token=wrong", http.StatusUnauthorized}, {"?token=" + token, http.StatusOK}} {
		resp, err := http.Get(u + "/api/v1/fleet" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("fleet%s: %d, want %d", strings.Replace(c.query, token, "TOKEN", 1), resp.StatusCode, c.want)
		}
	}
	out, code := runHub(t, "devices", "--config", conf)
	if code != 0 || !regexp.MustCompile(`quay-1\s+vinh-phu\s+.*never\s+0\s+enrolled`).MatchString(out) {
		t.Fatalf("devices: %d\n%s", code, out)
	}
	if out, code := runHub(t, "revoke", "--config", conf, "--device", "quay-1"); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if out, _ := runHub(t, "devices", "--config", conf); !regexp.MustCompile(`quay-1\s+vinh-phu.*revoked`).MatchString(out) {
		t.Fatalf("devices after revoke:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:0\nreport_tokn_file: report-token\n"), 0o640)
	if out, code := runHub(t, "serve", "--config", bad); code != 2 || !strings.Contains(out, "report_tokn_file") {
		t.Errorf("misspelt key: %d\n%s", code, out)
	}
	open := filepath.Join(dir, "open.yaml")
	os.WriteFile(open, []byte("listen: 0.0.0.0:0\ndb: open.db\n"), 0o640)
	if out, code := runHub(t, "serve", "--config", open); code != 2 || !strings.Contains(out, "report_token_file") {
		t.Errorf("network address without a token: %d\n%s", code, out)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("1234\n"), 0o600)
	if out, code := runHub(t, "serve", "--config", conf, "--report-token-file", short); code != 2 || !strings.Contains(out, "at least 16") {
		t.Errorf("a 4-character token: %d\n%s", code, out)
	}
	if out, code := runHub(t, "devices", "--config", filepath.Join(dir, "missing.yaml")); code != 2 || !strings.Contains(out, "missing.yaml") {
		t.Errorf("a settings file named but missing: %d\n%s", code, out)
	}
}
