package installtest

import (
	"strings"
	"testing"
	"time"
)

// The Windows print spooler transport (drivers/escpos, build-tagged windows) run
// under wine: its Windows-only tests, compiled for Windows. A printer registered in
// the prefix's registry must be listed by WindowsPrinters; wine has no printer driver
// here (it installs one only for CUPS printers), so it cannot open that printer, and
// the RAW job itself is left to a Windows PC. An unknown printer name is refused with
// its name and what to check.
func TestWineSpoolerTransport(t *testing.T) {
	needWine(t)
	exe := buildWindowsTests(t, "./drivers/escpos")
	const printer = "motcua-test XP-80C"
	key := `HKLM\System\CurrentControlSet\Control\Print\Printers\` + printer
	for _, v := range [][]string{{"Name", printer}, {"Port", "FILE:"}, {"Printer Driver", "Generic / Text Only"}, {"Datatype", "RAW"}} {
		if out, code := run(t, time.Minute, wine("reg.exe", "add", key, "/v", v[0], "/d", v[1], "/f")); code != 0 {
			t.Fatalf("register a printer: %s", out)
		}
	}
	t.Cleanup(func() { run(t, time.Minute, wine("reg.exe", "delete", key, "/f")) })
	cmd := wine(exe, "-test.run", "^TestSpooler", "-test.v")
	cmd.Env = append(cmd.Env, "MOTCUA_TEST_PRINTER_LISTED="+printer)
	out, code := run(t, 2*time.Minute, cmd)
	if code != 0 || !strings.Contains(out, "--- PASS: TestSpoolerUnknownPrinter") || !strings.Contains(out, "--- SKIP: TestSpoolerListAndPrint") {
		t.Fatalf("escpos spooler tests under wine: exit %d:\n%s", code, out)
	}
}
