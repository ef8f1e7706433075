//go:build linux && amd64

package keyboard

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/drivers/keyboard/xvfbtest"
)

// TestSendInputUnderWine cross-compiles this package's Windows tests and runs them
// under wine on a private Xvfb: SendInput with KEYEVENTF_UNICODE types Vietnamese into
// a real EDIT control. Skipped when wine or mingw-w64 (for the ProcessPrng shim the
// prefix needs) is missing.
func TestSendInputUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("wine run skipped in -short")
	}
	for _, tool := range []string{"wine", "wineboot", "wineserver", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian: wine, wine64, gcc-mingw-w64-x86-64)", tool)
		}
	}
	display := xvfbtest.Start(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "keyboard.test.exe")
	build := exec.Command("go", "test", "-c", "-o", exe, ".")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-compile: %v\n%s", err, b)
	}
	prefix := filepath.Join(dir, "prefix")
	env := append(os.Environ(), "DISPLAY="+display, "WINEPREFIX="+prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=bcryptprimitives=native;mscoree,mshtml=")
	mk := exec.Command("bash", filepath.Join("..", "..", "packaging", "windows", "wine-prefix.sh"), prefix)
	mk.Env = env
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("wine prefix: %v\n%s", err, b)
	}
	t.Cleanup(func() {
		stop := exec.Command("wineserver", "-k")
		stop.Env = env
		stop.Run()
	})
	wine := "wine"
	if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
		wine = "/usr/lib/wine/wine64"
	}
	run := exec.Command(wine, exe, "-test.v", "-test.run", "TestSendInputIntoEdit|TestInputsLayout")
	run.Env = env
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSendInputIntoEdit") {
		t.Fatalf("under wine: %v\n%s", err, out)
	}
}
