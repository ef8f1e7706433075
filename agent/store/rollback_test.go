package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every migration after the last breaking one is additive, so the version an update
// rolls back to still opens the record the newer version migrated.
func TestMigrationsAfterTheFloorAreAdditive(t *testing.T) {
	additive := regexp.MustCompile(`(?is)^\s*(CREATE TABLE|CREATE (UNIQUE )?INDEX|ALTER TABLE \w+ ADD COLUMN [^;]*\bDEFAULT\b)`)
	floor := readableFrom(len(migrations))
	for i := floor + 1; i <= len(migrations); i++ {
		for _, stmt := range strings.Split(migrations[i-1], ";") {
			if strings.TrimSpace(stripComments(stmt)) == "" {
				continue
			}
			if !additive.MatchString(stripComments(stmt)) {
				t.Errorf("migration %d is not additive (list it in breaking, or make it so): %.80s", i, strings.TrimSpace(stmt))
			}
		}
	}
	if floor != 2 {
		t.Errorf("a record of this agent's schema is readable from %d migrations, want 2 (the counters' key)", floor)
	}
}

func stripComments(s string) string { return regexp.MustCompile(`--[^\n]*`).ReplaceAllString(s, "") }

// An update that added an additive migration is rolled back: the older agent opens the
// record the newer one migrated, counts in it, and leaves the newer table and column as
// they were. A record whose newer migrations were not additive is refused, untouched.
func TestRolledBackAgentOpensANewerAdditiveRecord(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agent.db")
	newRecord(t, path)
	if got := metaOf(t, path, metaReadableFrom); got != "2" {
		t.Fatalf("a new record says it is readable from %q migrations, want 2", got)
	}
	// The newer agent's additive migration.
	newer := len(migrations) + 1
	execOn(t, path, fmt.Sprintf(`CREATE TABLE future(x TEXT); ALTER TABLE events ADD COLUMN extra TEXT NOT NULL DEFAULT 'n';
		INSERT INTO future VALUES('kept'); PRAGMA user_version = %d;
		UPDATE meta SET value = '2' WHERE key = '%s'`, newer, metaReadableFrom))

	s, err := Open(ctx, Options{Path: path, AnyMetric: true, Location: ict})
	if err != nil {
		t.Fatalf("the rolled-back agent cannot open the record: %v", err)
	}
	if _, err := s.Append(ctx, Event{Kind: "t", Counts: []Count{{Metric: "n", Value: 1}}}); err != nil {
		t.Fatalf("the rolled-back agent cannot count: %v", err)
	}
	s.Close()
	ro, err := OpenReadOnly(ctx, path, ict)
	if err != nil {
		t.Fatalf("read-only: %v", err)
	}
	ro.Close()
	if got := metaOf(t, path, "user_version"); got != fmt.Sprint(newer) {
		t.Errorf("user_version %s after the older agent, want %d (left as the newer one wrote it)", got, newer)
	}
	var kept string
	queryOn(t, path, `SELECT x FROM future`, &kept)
	if kept != "kept" {
		t.Errorf("the newer agent's table lost its row: %q", kept)
	}

	// A newer migration that was not additive: refused, nothing written.
	execOn(t, path, fmt.Sprintf(`UPDATE meta SET value = '%d' WHERE key = '%s'`, newer, metaReadableFrom))
	var before int64
	queryOn(t, path, `SELECT count(*) FROM events`, &before)
	if _, err := Open(ctx, Options{Path: path, AnyMetric: true, Location: ict}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("a record past a breaking migration: %v, want ErrNewerSchema", err)
	}
	if _, err := OpenReadOnly(ctx, path, ict); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("read-only, past a breaking migration: %v, want ErrNewerSchema", err)
	}
	var after int64
	queryOn(t, path, `SELECT count(*) FROM events`, &after)
	if after != before {
		t.Errorf("the refused open wrote: %d events, then %d", before, after)
	}
}

func execOn(t *testing.T, path, stmts string) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmts); err != nil {
		t.Fatal(err)
	}
}

func queryOn(t *testing.T, path, q string, dst any) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(q).Scan(dst); err != nil {
		t.Fatal(err)
	}
}

func metaOf(t *testing.T, path, key string) string {
	t.Helper()
	var v string
	if key == "user_version" {
		queryOn(t, path, `PRAGMA user_version`, &v)
		return v
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v
}
