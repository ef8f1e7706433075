package installtest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Windows print spooler transport (drivers/escpos, build-tagged windows) run
// under wine: its Windows-only tests, compiled for Windows. Wine has no printer here,
// so they cover listing the printers and the refusal of an unknown printer name.
func TestWineSpoolerTransport(t *testing.T) {
	needWine(t)
	exe := filepath.Join(workDir, "escpos.test.exe")
	build := exec.Command("go", "test", "-c", "-o", exe, "./drivers/escpos")
	build.Dir = repoRoot
	build.Env = append(build.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the escpos tests for Windows: %v\n%s", err, out)
	}
	out, code := run(t, 2*time.Minute, wine(exe, "-test.run", "^TestSpooler", "-test.v"))
	if code != 0 || !strings.Contains(out, "--- PASS: TestSpoolerUnknownPrinter") || !strings.Contains(out, "TestSpoolerListAndPrint") {
		t.Fatalf("escpos spooler tests under wine: exit %d:\n%s", code, out)
	}
}
