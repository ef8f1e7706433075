package installtest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// One wine prefix for the whole run: booting one takes 10-20 s.
var (
	wineOnce   sync.Once
	winePrefix string
	wineErr    error
	wineBinary string // wine64 itself, past Debian's wrapper (which warns about wine32)
	wineKeeper io.Closer
)

// needWine returns the shared prefix, making it on first use, or skips the test when
// wine is not installed.
func needWine(t *testing.T) string {
	t.Helper()
	requireLinuxAmd64(t)
	for _, tool := range []string{"wine", "wineserver", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian packages wine, wine64, gcc-mingw-w64-x86-64): the Windows tests need it", tool)
		}
	}
	wineOnce.Do(func() {
		wineBinary = "wine"
		if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
			wineBinary = "/usr/lib/wine/wine64"
		}
		prefix := filepath.Join(workDir, "wineprefix")
		cmd := exec.Command("bash", filepath.Join(repoRoot, "packaging", "windows", "wine-prefix.sh"), prefix)
		if b, err := cmd.CombinedOutput(); err != nil {
			wineErr = err
			t.Logf("wine-prefix.sh: %s", b)
			return
		}
		winePrefix = prefix
		// The agent cannot answer wine's service manager (see TestWineServiceLifecycle),
		// so every service start waits out this timeout: 2 s instead of 10.
		_ = wine("reg.exe", "add", `HKLM\System\CurrentControlSet\Control`, "/v", "ServicesPipeTimeout", "/t", "REG_DWORD", "/d", "2000", "/f").Run()
		// A console that waits on its input keeps wine's own services up between
		// commands: without it each command starts them again (2-3 s each).
		keeper := wine("cmd.exe")
		if in, err := keeper.StdinPipe(); err == nil && keeper.Start() == nil {
			wineKeeper = in
		}
	})
	if wineErr != nil {
		t.Fatalf("making the wine prefix: %v", wineErr)
	}
	return winePrefix
}

// wineCommand is a command in the shared prefix, with wine's own debug output off
// and the shim chosen over wine's bcryptprimitives.dll.
func wineCommand(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "WINEPREFIX="+winePrefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=bcryptprimitives=native;mscoree,mshtml=")
	return cmd
}

// wine runs a Windows program in the shared prefix.
func wine(args ...string) *exec.Cmd { return wineCommand(wineBinary, args...) }

// winPath is a Unix path as Windows programs under wine see it (drive Z: is /).
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// wineSite writes a site config into a new folder for the Windows agent: data in
// DIR/data, tickets printed to DIR/tickets.bin, HTTP on listen. It returns the config
// and the ticket file (Unix paths).
func wineSite(t *testing.T, listen string) (cfg, tickets string) {
	dir := t.TempDir()
	cfg, tickets = filepath.Join(dir, "site.yaml"), filepath.Join(dir, "tickets.bin")
	os.WriteFile(cfg, []byte(siteConfig(listen, winPath(filepath.Join(dir, "data")), winPath(tickets))), 0o644)
	return cfg, tickets
}

// buildWindowsTests compiles a package's tests into a Windows program in the run's folder.
func buildWindowsTests(t *testing.T, pkg string) string {
	t.Helper()
	exe := filepath.Join(workDir, filepath.Base(pkg)+".test.exe")
	build := exec.Command("go", "test", "-c", "-o", exe, pkg)
	build.Dir = repoRoot
	build.Env = append(build.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the tests of %s for Windows: %v\n%s", pkg, err, out)
	}
	return exe
}

// driveC is a path inside the prefix's C: drive.
func driveC(rel string) string { return filepath.Join(winePrefix, "drive_c", filepath.FromSlash(rel)) }

func TestWineVersion(t *testing.T) {
	needWine(t)
	exe := agentBinary(t, "windows")
	out, code := run(t, time.Minute, wine(exe, "version"))
	if code != 0 || !strings.Contains(out, "motcua-agent "+testVersion) {
		t.Fatalf("version: exit %d, output:\n%s", code, out)
	}
}

// Every example config passes config check under Windows, and a broken one is refused
// with its field path and exit code 2, as on Linux.
func TestWineConfigCheckExamples(t *testing.T) {
	needWine(t)
	exe := agentBinary(t, "windows")
	examples, _ := filepath.Glob(filepath.Join(repoRoot, "config", "examples", "*.yaml"))
	if len(examples) < 4 {
		t.Fatalf("expected the four example configs, found %v", examples)
	}
	for _, f := range examples {
		out, code := run(t, time.Minute, wine(exe, "config", "check", winPath(f)))
		if code != 0 || !strings.Contains(out, ": OK") {
			t.Errorf("config check %s: exit %d:\n%s", filepath.Base(f), code, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("profile: counter\nhttp: {listen: 'not an address'}\n"), 0o644)
	out, code := run(t, time.Minute, wine(exe, "config", "check", winPath(bad)))
	if code != 2 || !strings.Contains(out, "http.listen") {
		t.Fatalf("broken config: exit %d, want 2 naming http.listen:\n%s", code, out)
	}
}

// The Windows binary serves /healthz, issues a ticket through the API and prints it to
// a file transport; killed hard and started again, its store still has the ticket and
// the next number follows it.
func TestWineRunTicketSurvivesKill(t *testing.T) {
	needWine(t)
	exe := agentBinary(t, "windows")
	addr := freeAddr(t)
	cfg, tickets := wineSite(t, addr)

	p := start(t, wine(exe, "run", "--config", winPath(cfg)))
	h := waitHealthy(t, addr, 60*time.Second, p.exited)
	if h.Version != testVersion || h.Status != "ok" {
		t.Fatalf("healthz: %+v", h)
	}
	first := issueTicket(t, addr, kioskToken, "A")
	if first.Ticket.Number != 1001 || !first.Printed {
		t.Fatalf("first ticket: %+v", first)
	}
	job, err := os.ReadFile(tickets)
	if err != nil {
		t.Fatal(err)
	}
	// An ESC/POS job: initialise first, cut last.
	if !bytes.HasPrefix(job, []byte{0x1b, '@'}) || !bytes.Contains(job, []byte{0x1d, 'V'}) || len(job) < 1000 {
		t.Fatalf("printed job is not an ESC/POS ticket (%d bytes, starts % x)", len(job), job[:min(8, len(job))])
	}
	before := waitHealthy(t, addr, 10*time.Second, p.exited).LastSeq
	if before < 1 {
		t.Fatalf("last_seq %d after a ticket", before)
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)

	p2 := start(t, wine(exe, "run", "--config", winPath(cfg)))
	after := waitHealthy(t, addr, 60*time.Second, p2.exited)
	if after.LastSeq < before {
		t.Fatalf("store lost events across the kill: last_seq %d before, %d after", before, after.LastSeq)
	}
	second := issueTicket(t, addr, kioskToken, "A")
	if second.Ticket.Number != 1002 {
		t.Fatalf("after restart the next ticket is %d, want 1002 (the day's tickets were not rebuilt from the store)", second.Ticket.Number)
	}
	// Ctrl-C (SIGINT, which wine turns into a console control event) stops it cleanly.
	if err := p2.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after Ctrl-C, want 0:\n%s", code, p2.output())
	}
	if !strings.Contains(p2.output(), "stopped cleanly") {
		t.Fatalf("no clean stop in the log:\n%s", p2.output())
	}
}
