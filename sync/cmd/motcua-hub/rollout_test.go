package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/sync/hub"
)

// The province's rollout steps through the built program against one hub database: a
// version not signed refused, start with canary sites, advance, a stage that shrinks
// refused, halt with a reason, resume, status in words and JSON, and words and flags a
// step does not take refused before anything changes.
func TestRolloutCommands(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "rel")
	if out, code := runHub(t, "release", "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	bin := filepath.Join(t.TempDir(), "motcua-agent")
	os.WriteFile(bin, []byte("agent 2.0.0"), 0o755)
	if out, code := runHub(t, "release", "publish", "--dir", dir, "--version", "2.0.0", "--linux", bin); code != 0 {
		t.Fatalf("publish: %d %s", code, out)
	}
	db := filepath.Join(t.TempDir(), "hub.db")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rollout", "status"}, 0, "No rollout yet."},
		{[]string{"rollout", "advance", "--percent", "10"}, 3, "no rollout is running"},
		{[]string{"rollout", "start", "--release", "9.9.9", "--percent", "10", "--releases", dir}, 3, "not published"},
		{[]string{"rollout", "start", "--release", "2.0.0", "--percent", "10"}, 2, "release folder is required"},
		{[]string{"rollout", "start", "--release", "2.0.0", "--releases", dir}, 2, "--percent is required"},
		{[]string{"rollout", "start", "--release", "2.0.0", "--percent", "0", "--releases", dir}, 1, "needs canary sites"},
		{[]string{"rollout", "start", "--release", "2.0.0", "--percent", "0", "--canary", "xa-01, xa 02", "--releases", dir}, 2, "not a site code"},
		{[]string{"rollout", "start", "--release", "2.0.0", "--percent", "0", "--canary", "xa-01,xa-02", "--sites", "xa-01,xa-02,xa-03", "--releases", dir}, 0, "Rollout 1 of 2.0.0: running, stage canary, canary sites xa-01,xa-02, sites xa-01,xa-02,xa-03; halts above 5% failed of at least 20 finished"},
		{[]string{"rollout", "advance", "--percent", "10"}, 0, "stage 10%"},
		{[]string{"rollout", "advance", "--percent", "5"}, 1, "never shrinks"},
		{[]string{"rollout", "halt", "--reason", "máy in lỗi sau khi cập nhật"}, 0, "halted, stage 10%"},
		{[]string{"rollout", "halt"}, 1, "halted already"},
		{[]string{"rollout", "advance", "--percent", "50"}, 1, "resume it first"},
		{[]string{"rollout", "resume", "--halt-at", "0.1"}, 0, "running, stage 10%"},
		{[]string{"rollout", "advance", "--percent", "50"}, 0, "halts above 10% failed"},
		{[]string{"rollout", "pause"}, 2, "usage: motcua-hub rollout"},
		{[]string{"rollout"}, 2, "usage: motcua-hub rollout"},
		{[]string{"rollout", "status", "now"}, 2, `unexpected "now"`},
		{[]string{"rollout", "halt", "--percent", "10"}, 2, "flag provided but not defined"},
		{[]string{"rollout", "advance", "--release", "2.0.0", "--percent", "60"}, 2, "flag provided but not defined"},
	} {
		out, code := runHub(t, append(c.args, "--db", db)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Fatalf("motcua-hub %v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
	out, code := runHub(t, "rollout", "status", "--db", db)
	for _, want := range []string{"stage canary  from", "stage 10%     from", "stage 50%     from", "offered 0"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("status: exit %d, want %q:\n%s", code, want, out)
		}
	}
	out, code = runHub(t, "rollout", "status", "--json", "--db", db)
	var rs []hub.Rollout
	if err := json.Unmarshal([]byte(out), &rs); err != nil || code != 0 || len(rs) != 1 || len(rs[0].Stages) != 3 || rs[0].Percent != 50 || rs[0].HaltAt != 0.1 {
		t.Fatalf("status --json: exit %d %v:\n%s", code, err, out)
	}
	// A new rollout replaces the current one.
	if out, code := runHub(t, "rollout", "start", "--release", "2.0.0", "--percent", "100", "--releases", dir, "--db", db); code != 0 || !strings.Contains(out, "Rollout 2 of 2.0.0: running, stage 100%") {
		t.Fatalf("second start: %d %s", code, out)
	}
	out, _ = runHub(t, "rollout", "status", "--db", db)
	if !strings.Contains(out, "Rollout 1 of 2.0.0: replaced") || !strings.Contains(out, "replaced by rollout 2 of 2.0.0") {
		t.Fatalf("status after a second start:\n%s", out)
	}
}
