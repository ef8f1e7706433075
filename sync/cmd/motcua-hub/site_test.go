package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/sync/hub"
)

// TestHubSiteSet: "hub site set" renames an enrolled site, says what changed, keeps
// what it was not asked to change, and refuses a site the hub does not know.
func TestHubSiteSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "hub.db")
	h, err := hub.Open(db, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Enroll(ctx, hub.Site{Code: "VH-1", Province: "Nghệ An"}, "pc1"); err != nil {
		t.Fatal(err)
	}
	h.Close()

	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"site", "set", "--config", "none", "--db", db}, args...), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	out, _, code := run("--site", "VH-1", "--name", "Trung tâm phục vụ hành chính công phường Vinh Hưng", "--commune", "Phường Vinh Hưng")
	if code != 0 || !strings.Contains(out, `name "" -> "Trung tâm phục vụ hành chính công phường Vinh Hưng"`) ||
		!strings.Contains(out, `commune "" -> "Phường Vinh Hưng"`) || strings.Contains(out, "province") {
		t.Fatalf("set: code %d, printed:\n%s", code, out)
	}
	if out, _, code := run("--site", "VH-1", "--commune", "Phường Vinh Hưng"); code != 0 || !strings.Contains(out, "nothing changed") {
		t.Fatalf("same again: code %d, printed:\n%s", code, out)
	}
	if _, errOut, code := run("--site", "XX-9", "--name", "Không có"); code != 1 || !strings.Contains(errOut, "unknown site") {
		t.Fatalf("unknown site: code %d, stderr:\n%s", code, errOut)
	}
	if _, _, code := run("--site", "VH-1"); code != 2 {
		t.Fatalf("nothing to change: code %d, want 2", code)
	}

	h, err = hub.Open(db, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before, after, err := h.SetSite(ctx, "VH-1", hub.SiteChange{})
	if err != nil || before != after || after.Province != "Nghệ An" || after.Commune != "Phường Vinh Hưng" ||
		after.Name != "Trung tâm phục vụ hành chính công phường Vinh Hưng" {
		t.Fatalf("stored site = %+v, %v", after, err)
	}
}

// `enroll --upstream` records a provincial hub at the national hub as such (its rows
// may name its sites and communes); a plain enroll records an agent.
func TestEnrollUpstreamRecordsTheKind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "national.db")
	if out, code := runHub(t, "enroll", "--db", db, "--upstream", "--site", "40", "--device", "hub-40", "--province", "Tỉnh Nghệ An"); code != 0 {
		t.Fatalf("enroll --upstream: %d\n%s", code, out)
	}
	if out, code := runHub(t, "enroll", "--db", db, "--site", "HN-1", "--device", "pc1"); code != 0 {
		t.Fatalf("enroll: %d\n%s", code, out)
	}
	sdb, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	kinds := map[string]string{}
	rows, err := sdb.Query(`SELECT device, kind FROM devices`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, k string
		rows.Scan(&d, &k)
		kinds[d] = k
	}
	if kinds["hub-40"] != hub.KindHub || kinds["pc1"] != hub.KindAgent {
		t.Fatalf("kinds: %v", kinds)
	}
}
