package testkit

import (
	"os/exec"
	"testing"
)

// MountTmpfs mounts a tmpfs of size (e.g. "8m") on a temporary folder for a real full
// or read-only disk, unmounted at the end; it skips where mounting is not allowed.
func MountTmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}
