package installtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

const (
	uninstallKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\motcua-agent`
	serviceKey   = `HKLM\System\CurrentControlSet\Services\motcua-agent`
)

// buildInstaller builds motcua-agent-setup.exe the way make dist does (zlib instead
// of LZMA: the same script, ten times faster).
func buildInstaller(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("makensis"); err != nil {
		t.Skip("makensis not installed (Debian package nsis): the installer tests need it")
	}
	exe := agentBinary(t, "windows")
	cmd := exec.Command("bash", filepath.Join(repoRoot, "packaging", "windows", "build-installer.sh"), exe, testVersion, filepath.Join(workDir, "dist"))
	cmd.Env = append(os.Environ(), "NSIS_COMPRESSOR=zlib")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-installer.sh: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// regQuery returns reg.exe's listing of a key and whether the key exists.
func regQuery(t *testing.T, key string) (string, bool) {
	out, code := run(t, time.Minute, wine("reg.exe", "query", key))
	return out, code == 0
}

// The silent install a deployment tool runs on hundreds of PCs, then the uninstall
// from Add/Remove Programs, under wine.
func TestInstallerSilentInstallUninstall(t *testing.T) {
	needWine(t)
	setup := buildInstaller(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	site := siteConfig(addr, "", `C:\ProgramData\motcua-agent\tickets.bin`)
	cfg := filepath.Join(dir, "site.yaml")
	os.WriteFile(cfg, []byte(site), 0o644)
	instDir := driveC("Program Files/motcua-agent")
	dataDir := driveC("ProgramData/motcua-agent")
	t.Cleanup(func() {
		run(t, time.Minute, wine(`C:\Program Files\motcua-agent\motcua-agent.exe`, "service", "uninstall"))
		os.RemoveAll(instDir)
		os.RemoveAll(dataDir)
	})

	// A config that fails its check stops the installer before it changes anything.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("profile: counter\nhttp: {listen: 'nowhere'}\n"), 0o644)
	if out, code := run(t, 2*time.Minute, wine(setup, "/S", "/CONFIG="+winPath(bad))); code != 2 {
		t.Fatalf("setup with a broken config: exit %d, want 2:\n%s", code, out)
	}
	if _, err := os.Stat(instDir); err == nil {
		t.Fatal("setup with a broken config installed files anyway")
	}

	// A PC installed with no config gets the counter example in its Windows form, and
	// the service is not started on it.
	if out, code := run(t, 3*time.Minute, wine(setup, "/S")); code != 0 {
		t.Fatalf("silent setup without /CONFIG: exit %d:\n%s", code, out)
	}
	example, _ := os.ReadFile(filepath.Join(dataDir, "site.yaml"))
	if !strings.Contains(string(example), "transport: windows") || strings.Contains(string(example), "/dev/") {
		t.Fatalf("the example written without /CONFIG is not the Windows form:\n%s", example)
	}
	if log, _ := os.ReadFile(filepath.Join(instDir, "install.log")); strings.Contains(string(log), `.exe" service start`) {
		t.Fatalf("the service was started on an unedited example:\n%s", log)
	}

	// The same installer over it with the site's config (an upgrade). Exit 3 is
	// "installed, the service did not start": under wine it cannot until the agent's
	// service run goes through internal/winservice; on Windows the run ends 0.
	out, code := run(t, 3*time.Minute, wine(setup, "/S", "/CONFIG="+winPath(cfg)))
	if code != 0 && code != 3 {
		t.Fatalf("silent setup: exit %d:\n%s", code, out)
	}
	for _, f := range []string{"motcua-agent.exe", "uninstall.exe", "HUONG-DAN-CAI-DAT.txt"} {
		if _, err := os.Stat(filepath.Join(instDir, f)); err != nil {
			t.Errorf("Program Files: %v", err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dataDir, "site.yaml")); err != nil || string(got) != site {
		t.Fatalf("ProgramData\\motcua-agent\\site.yaml is not the /CONFIG file (%v)", err)
	}
	log, _ := os.ReadFile(filepath.Join(instDir, "install.log"))
	// The restricted DACL on the data folder is set through the Windows API and must
	// succeed; wine accepts it but keeps no ACLs on folders, so the ACL itself is
	// checked on Windows only.
	if !strings.Contains(string(log), "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA): parse 1, set 0") {
		t.Errorf("the data folder's DACL was not set:\n%s", log)
	}
	if !strings.Contains(string(log), "sc.exe\" failure motcua-agent reset= 86400 actions= restart/3000") || !strings.Contains(string(log), "exit 0") {
		t.Errorf("recovery actions were not set:\n%s", log)
	}
	reg, ok := regQuery(t, serviceKey)
	if !ok || !strings.Contains(reg, `C:\Program Files\motcua-agent\motcua-agent.exe" service run --config C:\ProgramData\motcua-agent\site.yaml`) {
		t.Fatalf("service not registered to run the installed binary on the installed config:\n%s", reg)
	}
	reg, ok = regQuery(t, uninstallKey)
	for _, want := range []string{"DisplayName", "DisplayVersion    REG_SZ    " + testVersion, `UninstallString    REG_SZ    "C:\Program Files\motcua-agent\uninstall.exe"`, "QuietUninstallString"} {
		if !ok || !strings.Contains(reg, want) {
			t.Fatalf("Add/Remove Programs entry lacks %q:\n%s", want, reg)
		}
	}
	if out, code := run(t, time.Minute, wine(`C:\Program Files\motcua-agent\motcua-agent.exe`, "version")); code != 0 || !strings.Contains(out, testVersion) {
		t.Fatalf("installed binary: exit %d: %s", code, out)
	}
	// Something the agent keeps, to see that an uninstall leaves the record.
	os.WriteFile(filepath.Join(dataDir, "agent.db"), []byte("record"), 0o600)

	uninstall(t, "/S")
	if _, err := os.Stat(instDir); err == nil {
		t.Errorf("Program Files\\motcua-agent is still there after uninstall")
	}
	if reg, ok := regQuery(t, serviceKey); ok {
		t.Errorf("service still registered after uninstall:\n%s", reg)
	}
	for _, kept := range []string{"site.yaml", "agent.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, kept)); err != nil {
			t.Errorf("uninstall without /PURGE removed ProgramData\\motcua-agent\\%s", kept)
		}
	}

	// Installed again with no /CONFIG, it keeps the site's config; /PURGE then
	// removes config and record too.
	if out, code := run(t, 3*time.Minute, wine(setup, "/S")); code != 0 && code != 3 {
		t.Fatalf("reinstall: exit %d:\n%s", code, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dataDir, "site.yaml")); string(got) != site {
		t.Fatal("reinstall without /CONFIG replaced the site's config")
	}
	uninstall(t, "/S", "/PURGE")
	if _, err := os.Stat(dataDir); err == nil {
		t.Error("uninstall /PURGE left ProgramData\\motcua-agent")
	}
}

// uninstall runs uninstall.exe as Add/Remove Programs does and waits for it: the
// NSIS uninstaller copies itself to %TEMP% and returns at once, so the test waits
// for its entry to leave the registry.
func uninstall(t *testing.T, args ...string) {
	t.Helper()
	if out, code := run(t, time.Minute, wine(append([]string{`C:\Program Files\motcua-agent\uninstall.exe`}, args...)...)); code != 0 {
		t.Fatalf("uninstall: exit %d:\n%s", code, out)
	}
	testkit.Eventually(t, 90*time.Second, func() bool {
		if _, ok := regQuery(t, uninstallKey); ok {
			return false
		}
		_, err := os.Stat(driveC("Program Files/motcua-agent/uninstall.exe"))
		return err != nil
	}, "the uninstaller to finish")
	time.Sleep(time.Second) // the last deletions after the registry
}
