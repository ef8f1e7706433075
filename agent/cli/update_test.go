package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The technician's path with the real binary: the service's first start records the
// running version, apply switches the new one in on trial, the next start counts it.
func TestUpdateCLIApplyAndBoot(t *testing.T) {
	data := t.TempDir()
	out, code := runBin(t, "update", "boot", "--data", data)
	want := filepath.Join(data, "versions", "current", "motcua-agent")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("boot: %d %q, want %s", code, out, want)
	}
	if out, code := runBin(t, "update", "apply", "--data", data, "--file", agentBin); code != 2 {
		t.Fatalf("apply without --version: %d %s", code, out)
	}
	if out, code := runBin(t, "update", "apply", "--data", data, "--file", agentBin, "--version", "2.0.0"); code != 0 || !strings.Contains(out, "restart the service") {
		t.Fatalf("apply: %d %s", code, out)
	}
	if _, code := runBin(t, "update", "boot", "--data", data); code != 0 {
		t.Fatal("second boot failed")
	}
	out, code = runBin(t, "update", "status", "--data", data, "--json")
	var st struct {
		Current, Previous string
		Trial             struct {
			Version string
			Starts  int
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %d %s", code, out)
	}
	if st.Current != "2.0.0" || st.Previous != "dev" || st.Trial.Version != "2.0.0" || st.Trial.Starts != 1 {
		t.Fatalf("status after apply and one start: %+v", st)
	}
	if link, err := os.Readlink(filepath.Join(data, "versions", "current")); err != nil || link != "2.0.0" {
		t.Fatalf("current -> %q %v", link, err)
	}
}
