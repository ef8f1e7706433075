package installtest

import (
	"strings"
	"testing"
	"time"
)

// agent/update's switch on Windows goes through the service manager (no running .exe
// renamed): its Windows test registers a service in wine's and switches it.
func TestWineUpdateSwitchesTheService(t *testing.T) {
	needWine(t)
	exe := buildWindowsTests(t, "./agent/update")
	cmd := wine(exe, "-test.run", "^TestSwitchThroughServiceManager$", "-test.v")
	cmd.Env = append(cmd.Env, "MOTCUA_SERVICE_TEST=wine")
	out, code := run(t, 2*time.Minute, cmd)
	if code != 0 || !strings.Contains(out, "--- PASS: TestSwitchThroughServiceManager") {
		t.Fatalf("under wine: exit %d:\n%s", code, out)
	}
}
