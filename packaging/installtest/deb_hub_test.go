package installtest

import (
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// The hub's Debian package, installed with dpkg: its settings file and a report token
// made at install, the service's user and folders, the hub serving the packaged
// settings as that user (the page closed without the token), enrollment with the same
// settings, remove keeping the database, purge leaving nothing.
func TestDebHubInstallRunRemove(t *testing.T) {
	requireDpkg(t, "motcua-hub")
	bin := filepath.Join(t.TempDir(), "motcua-hub")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, "./sync/cmd/motcua-hub")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, code := run(t, time.Minute, exec.Command("bash", filepath.Join(repoRoot, "packaging", "deb", "build-deb.sh"), bin, testVersion, t.TempDir()))
	if code != 0 {
		t.Fatalf("build-deb.sh: exit %d:\n%s", code, out)
	}
	deb := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasSuffix(deb, "/motcua-hub_0~git"+strings.ReplaceAll(testVersion, "-", ".")+"_amd64.deb") {
		t.Fatalf("build-deb.sh printed %q", deb)
	}
	if listing, _ := exec.Command("dpkg-deb", "-c", deb).Output(); strings.Contains(string(listing), "motcua-agent") {
		t.Fatalf("the hub's package carries the agent:\n%s", listing)
	}

	// Installed on this host: not while the guide test overlays its /var.
	testkit.HostLock(t, "dpkg")
	t.Cleanup(func() { exec.Command("dpkg", "--purge", "motcua-hub").Run() })
	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "-i", deb)); code != 0 {
		t.Fatalf("dpkg -i: exit %d:\n%s", code, out)
	}
	unit, err := os.ReadFile("/lib/systemd/system/motcua-hub.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Restart=always", "User=motcua-hub", "ExecStart=/usr/bin/motcua-hub serve --config /etc/motcua-hub/hub.yaml"} {
		if !strings.Contains(string(unit), want) {
			t.Fatalf("unit lacks %q", want)
		}
	}
	svcUser, err := user.Lookup("motcua-hub")
	if err != nil {
		t.Fatalf("system user motcua-hub: %v", err)
	}
	uid, _ := strconv.Atoi(svcUser.Uid)
	gid, _ := strconv.Atoi(svcUser.Gid)
	checkOwners(t, map[string]owner{
		"/var/lib/motcua-hub":          {os.ModeDir | 0o750, uid, gid},
		"/etc/motcua-hub":              {os.ModeDir | 0o750, 0, gid},
		"/etc/motcua-hub/hub.yaml":     {0o640, 0, gid},
		"/etc/motcua-hub/report-token": {0o640, 0, gid},
	})
	tokenBytes, _ := os.ReadFile("/etc/motcua-hub/report-token")
	token := strings.TrimSpace(string(tokenBytes))
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("report token made at install: %q", token)
	}

	asService := func(args ...string) *exec.Cmd {
		cmd := exec.Command("/usr/bin/motcua-hub", args...)
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return cmd
	}
	addr := freeAddr(t)
	p := start(t, asService("serve", "--config", "/etc/motcua-hub/hub.yaml", "--listen", addr))
	status := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("the installed hub exited:\n%s", p.output())
		default:
		}
		return status("/healthz") == http.StatusOK
	}, "/healthz from the installed hub:\n%s", p.output)
	if got := status("/"); got != http.StatusUnauthorized {
		t.Errorf("the page without the token: %d, want 401", got)
	}
	if got := status("/?token=" + token); got != http.StatusOK {
		t.Errorf("the page with the installed token: %d, want 200", got)
	}
	if out, code := run(t, time.Minute, asService("enroll", "--site", "vinh-phu", "--device", "quay-1")); code != 0 || !strings.Contains(out, "secret:") {
		t.Fatalf("enroll with the packaged settings: exit %d:\n%s", code, out)
	}
	if out, code := run(t, time.Minute, asService("devices")); code != 0 || !strings.Contains(out, "quay-1") {
		t.Fatalf("devices: exit %d:\n%s", code, out)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("installed hub: exit %d after SIGTERM:\n%s", code, p.output())
	}

	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "-r", "motcua-hub")); code != 0 {
		t.Fatalf("dpkg -r: exit %d:\n%s", code, out)
	}
	for _, kept := range []string{"/etc/motcua-hub/hub.yaml", "/etc/motcua-hub/report-token", "/var/lib/motcua-hub/hub.db"} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("dpkg -r removed %s (settings and database stay until purge)", kept)
		}
	}
	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "--purge", "motcua-hub")); code != 0 {
		t.Fatalf("dpkg --purge: exit %d:\n%s", code, out)
	}
	for _, gone := range []string{"/etc/motcua-hub", "/var/lib/motcua-hub", "/usr/bin/motcua-hub"} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s is still there after purge", gone)
		}
	}
	if _, err := user.Lookup("motcua-hub"); err == nil {
		t.Error("the system user motcua-hub is still there after purge")
	}
}
