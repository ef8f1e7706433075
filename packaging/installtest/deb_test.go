package installtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// The Debian package, installed with dpkg on this machine: the binary runs from its
// installed path with the packaged config as the service's own user, the unit
// restarts it within seconds, remove keeps config and record, purge leaves nothing.
func TestDebInstallRunRemove(t *testing.T) {
	requireDpkg(t, "motcua-agent")
	for _, dep := range []string{"pcscd", "libpcsclite1"} {
		if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", dep).Output(); !strings.Contains(string(out), "install ok installed") {
			t.Skipf("%s is not installed (the package depends on it; .ci/run installs it)", dep)
		}
	}
	bin := agentBinary(t, "linux")
	out, code := run(t, time.Minute, exec.Command("bash", filepath.Join(repoRoot, "packaging", "deb", "build-deb.sh"), bin, testVersion, t.TempDir()))
	if code != 0 {
		t.Fatalf("build-deb.sh: exit %d:\n%s", code, out)
	}
	deb := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasSuffix(deb, "_amd64.deb") {
		t.Fatalf("build-deb.sh did not print the package path:\n%s", out)
	}
	fields, _ := exec.Command("dpkg-deb", "-f", deb, "Depends", "Version").Output()
	for _, want := range []string{"pcscd", "libpcsclite1", "Version: 0~git" + strings.ReplaceAll(testVersion, "-", ".")} {
		if !strings.Contains(string(fields), want) {
			t.Fatalf("control fields lack %q:\n%s", want, fields)
		}
	}

	// Installed on this host: not while the guide test overlays its /var.
	testkit.HostLock(t, "dpkg")
	t.Cleanup(func() { exec.Command("dpkg", "--purge", "motcua-agent").Run() })
	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "-i", deb)); code != 0 {
		t.Fatalf("dpkg -i: exit %d:\n%s", code, out)
	}
	out, code = run(t, time.Minute, exec.Command("/usr/bin/motcua-agent", "version"))
	if code != 0 || !strings.Contains(out, testVersion) {
		t.Fatalf("installed binary: exit %d: %s", code, out)
	}
	unit, err := os.ReadFile("/lib/systemd/system/motcua-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Restart=always", "RestartSec=3", "User=motcua", "ExecStartPre=/usr/bin/motcua-agent update boot --data /var/lib/motcua-agent", "ExecStart=/var/lib/motcua-agent/versions/current/motcua-agent run --config /etc/motcua-agent/site.yaml"} {
		if !strings.Contains(string(unit), want) {
			t.Fatalf("unit lacks %q", want)
		}
	}
	svcUser, err := user.Lookup("motcua")
	if err != nil {
		t.Fatalf("system user motcua: %v", err)
	}
	uid, _ := strconv.Atoi(svcUser.Uid)
	gid, _ := strconv.Atoi(svcUser.Gid)
	checkOwners(t, map[string]owner{
		"/var/lib/motcua-agent":       {os.ModeDir | 0o750, uid, gid},
		"/etc/motcua-agent":           {os.ModeDir | 0o750, 0, gid},
		"/etc/motcua-agent/site.yaml": {0o640, 0, gid},
	})

	// What the unit runs, as the unit's user: the packaged config passes its check and
	// the agent serves and keeps its record in the packaged data folder.
	asService := func(args ...string) *exec.Cmd {
		cmd := exec.Command("/usr/bin/motcua-agent", args...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return cmd
	}
	if out, code := run(t, time.Minute, asService("config", "check", "/etc/motcua-agent/site.yaml")); code != 0 {
		t.Fatalf("config check of the packaged config: exit %d:\n%s", code, out)
	}
	// The unit's ExecStartPre records the packaged binary as the first version; its
	// ExecStart is that copy through the versions/current symlink.
	if out, code := run(t, time.Minute, asService("update", "boot", "--data", "/var/lib/motcua-agent")); code != 0 || strings.TrimSpace(out) != "/var/lib/motcua-agent/versions/current/motcua-agent" {
		t.Fatalf("ExecStartPre update boot: exit %d: %s", code, out)
	}
	versioned := asService("version")
	versioned.Path = "/var/lib/motcua-agent/versions/current/motcua-agent"
	versioned.Args[0] = versioned.Path
	if out, code := run(t, time.Minute, versioned); code != 0 || !strings.Contains(out, testVersion) {
		t.Fatalf("the versioned copy: exit %d: %s", code, out)
	}
	addr := freeAddr(t)
	p := start(t, asService("run", "--config", "/etc/motcua-agent/site.yaml", "--data", "/var/lib/motcua-agent", "--listen", addr))
	if h := waitHealthy(t, addr, 30*time.Second, p.exited); h.Version != testVersion {
		t.Fatalf("healthz from the installed agent: %+v", h)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("installed agent: exit %d after SIGTERM:\n%s", code, p.output())
	}
	if _, err := os.Stat("/var/lib/motcua-agent/agent.db"); err != nil {
		t.Fatalf("no record in the data folder: %v", err)
	}

	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "-r", "motcua-agent")); code != 0 {
		t.Fatalf("dpkg -r: exit %d:\n%s", code, out)
	}
	for _, gone := range []string{"/usr/bin/motcua-agent", "/lib/systemd/system/motcua-agent.service"} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s is still there after dpkg -r", gone)
		}
	}
	for _, kept := range []string{"/etc/motcua-agent/site.yaml", "/var/lib/motcua-agent/agent.db"} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("dpkg -r removed %s (config and record stay until purge)", kept)
		}
	}
	if out, code := run(t, 2*time.Minute, exec.Command("dpkg", "--purge", "motcua-agent")); code != 0 {
		t.Fatalf("dpkg --purge: exit %d:\n%s", code, out)
	}
	for _, gone := range []string{"/etc/motcua-agent", "/var/lib/motcua-agent"} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s is still there after purge", gone)
		}
	}
	if _, err := user.Lookup("motcua"); err == nil {
		t.Error("the system user motcua is still there after purge")
	}
}

// owner is a path's wanted mode and owner.
type owner struct {
	mode     os.FileMode
	uid, gid int
}

// checkOwners reports every path whose mode or owner is not the wanted one.
func checkOwners(t *testing.T, want map[string]owner) {
	t.Helper()
	for path, w := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != w.mode || int(st.Uid) != w.uid || int(st.Gid) != w.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", path, fi.Mode(), st.Uid, st.Gid, w.mode, w.uid, w.gid)
		}
	}
}

// requireDpkg skips unless this is a Debian system where the test may install and
// purge package pkg: root, dpkg, and pkg not already installed.
func requireDpkg(t *testing.T, pkg string) {
	t.Helper()
	requireLinuxAmd64(t)
	if os.Geteuid() != 0 {
		t.Skip("installing a .deb needs root (CI runs as root)")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: not a Debian system", tool)
		}
	}
	if exec.Command("dpkg", "-s", pkg).Run() == nil {
		t.Skipf("a %s package is already installed here; not touching it", pkg)
	}
}
