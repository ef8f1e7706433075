//go:build windows

package update

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows/svc/mgr"
)

// The switch through the service manager, run by packaging/installtest under wine's:
// the first start records the running version, an update points the service at its
// own folder, a crash loop points it back. Arguments are kept each time.
func TestSwitchThroughServiceManager(t *testing.T) {
	if os.Getenv("MOTCUA_SERVICE_TEST") == "" {
		t.Skip("registers a service: set MOTCUA_SERVICE_TEST=1 (packaging/installtest does, under wine)")
	}
	// (not t.TempDir: wine refuses to remove a copied .exe at once, failing the cleanup)
	dir, err := os.MkdirTemp("", "update-switch-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	u := &Updater{Dir: dir, Binary: "motcua-agent.exe", Service: "motcua-update-test", MaxStarts: 3}
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	s, err := m.CreateService(u.Service, `C:\Program Files\motcua-agent\motcua-agent.exe`, mgr.Config{StartType: mgr.StartManual}, "service", "run", "--config", `C:\ProgramData\motcua-agent\site.yaml`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Delete(); s.Close() }()
	want := func(version string) {
		t.Helper()
		got, err := binaryPathName(s.Handle)
		if err != nil {
			t.Fatal(err)
		}
		line := `"` + filepath.Join(dir, version, "motcua-agent.exe") + `" service run --config C:\ProgramData\motcua-agent\site.yaml`
		if got != line {
			t.Fatalf("BinaryPathName %q, want %q", got, line)
		}
		if v, err := linkedVersion(u); err != nil || v != version {
			t.Fatalf("linked version %q %v, want %s", v, err, version)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Boot(self, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	want("1.0.0")
	if err := u.Apply("2.0.0", []byte("MZ new version")); err != nil {
		t.Fatal(err)
	}
	want("2.0.0")
	for i := 1; i <= 4; i++ {
		_, err := u.Boot(self, "1.0.0")
		if i < 4 && err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		if i == 4 && !errors.Is(err, ErrRolledBack) {
			t.Fatalf("start 4: %v, want a rollback", err)
		}
	}
	want("1.0.0")
	// Wine 8 cannot delete a file the way Go 1.26 asks ("Invalid function"), so the
	// removal of the rolled-back folder is checked on Windows only.
	if _, err := os.Stat(filepath.Join(dir, "2.0.0")); err == nil && os.Getenv("MOTCUA_SERVICE_TEST") != "wine" {
		t.Error("the rolled-back version's folder is still there")
	}
}
