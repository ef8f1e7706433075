package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/agent/queue"
)

// `staff key` writes the site's key once (never over an existing one); `staff hash`
// reads a number or PIN from stdin and prints its keyed hash, never the number.
func TestStaffKeyAndHash(t *testing.T) {
	t.Parallel()
	key := filepath.Join(t.TempDir(), "staff.key")
	if out, rc := runBin(t, "staff", "key", "--out", key); rc != 0 || !strings.Contains(out, key) {
		t.Fatalf("staff key: %d %s", rc, out)
	}
	if out, rc := runBin(t, "staff", "key", "--out", key); rc == 0 || !strings.Contains(out, "exists") {
		t.Fatalf("a second key over the first: %d %s", rc, out)
	}
	k, err := queue.LoadStaffKey(key)
	if err != nil {
		t.Fatal(err)
	}
	hash := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(agentBin, append([]string{"staff", "hash", "--key", key}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		return runCmd(t, cmd)
	}
	out, rc := hash("0010 9901 2345\n")
	if rc != 0 || strings.TrimSpace(out) != k.IDHash("001099012345") || strings.Contains(out, "2345") {
		t.Fatalf("ID hash: %d %q", rc, out)
	}
	out, rc = hash("2468\n", "--pin", "--officer", "nv01")
	if rc != 0 || strings.TrimSpace(out) != k.PINHash("nv01", "2468") {
		t.Fatalf("PIN hash: %d %q", rc, out)
	}
	if out, rc := hash("12345\n"); rc == 0 || strings.Contains(out, "12345") {
		t.Fatalf("a short number: %d %q", rc, out)
	}
	if _, rc := hash("2468\n", "--pin"); rc != 2 {
		t.Fatalf("--pin without --officer: %d", rc)
	}
}
