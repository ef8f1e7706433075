//go:build unix

package testkit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// HostLock holds a lock named name across every test process of this machine until the
// test ends (its cleanups registered after this call run first). Tests that change or
// read one shared thing of the host take it: "dpkg" for installing packages on the host
// and for overlaying the host's /var (a package half-installed by one test reads as
// "dpkg was interrupted" in the other). go test runs packages in parallel processes.
func HostLock(t testing.TB, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "motcua-test-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("host lock %s: %v", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("host lock %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() }) // closing the file releases the lock
}
