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
)

// `make install` puts a working motcua-agent in PREFIX/bin, and says so when that
// folder is not on the PATH.
func TestMakeInstall(t *testing.T) {
	requireLinuxAmd64(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	prefix := t.TempDir()
	cmd := exec.Command("make", "-s", "install", "PREFIX="+prefix, "VERSION="+testVersion)
	cmd.Dir = repoRoot
	out, code := run(t, 10*time.Minute, cmd)
	if code != 0 {
		t.Fatalf("make install: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, prefix+"/bin is not on your PATH") {
		t.Fatalf("make install does not say that %s/bin is off the PATH:\n%s", prefix, out)
	}
	got, code := run(t, time.Minute, exec.Command(filepath.Join(prefix, "bin", "motcua-agent"), "version"))
	if code != 0 || !strings.Contains(got, testVersion) {
		t.Fatalf("installed motcua-agent version: exit %d: %s", code, got)
	}
}

// Without root and without sudo, the package step says in one line what to install
// and lets make carry on.
func TestDepsWithoutRootSaysWhatToInstall(t *testing.T) {
	requireLinuxAmd64(t)
	if os.Geteuid() != 0 {
		t.Skip("runs the script as user nobody, which needs root")
	}
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("dpkg-query not found: not a Debian system")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cmd := exec.Command("bash", filepath.Join(repoRoot, ".ci", "deps.sh"), "run")
	cmd.Dir = "/"
	// No sudo on this PATH: the "neither root nor sudo" case.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/", "DEPS_PKGS=coreutils motcua-no-such-package"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if _, err := os.Stat("/usr/bin/sudo"); err == nil {
		t.Skip("sudo is in /usr/bin here, so the no-sudo case cannot be set up")
	}
	out, code := run(t, time.Minute, cmd)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 1 || !strings.Contains(out, "sudo apt-get install motcua-no-such-package'") || strings.Contains(out, "coreutils") {
		t.Fatalf("deps.sh as nobody without sudo: exit %d, want 0 and one line naming only the missing package:\n%s", code, out)
	}
}
