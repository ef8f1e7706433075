package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/internal/pgtest"
)

// Two transactions taking two rows in opposite orders deadlock on PostgreSQL; the one
// the server aborts fails with an error the writer retries.
func TestDeadlockIsRetryable(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := &sqlDB{DB: db, d: postgresDialect}
	ctx := context.Background()
	if _, err := h.Exec(`CREATE TABLE t(k TEXT PRIMARY KEY, v BIGINT); INSERT INTO t VALUES('a', 0), ('b', 0)`); err != nil {
		t.Fatal(err)
	}
	tx1, _ := h.BeginTx(ctx, nil)
	defer tx1.Rollback()
	tx2, _ := h.BeginTx(ctx, nil)
	defer tx2.Rollback()
	if _, err := tx1.Exec(`UPDATE t SET v = 1 WHERE k = ?`, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.Exec(`UPDATE t SET v = 2 WHERE k = ?`, "b"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		tx  *sqlTx
		err error
	}
	results := make(chan result, 2)
	go func() { _, err := tx1.Exec(`UPDATE t SET v = 1 WHERE k = ?`, "b"); results <- result{tx1, err} }()
	go func() { _, err := tx2.Exec(`UPDATE t SET v = 2 WHERE k = ?`, "a"); results <- result{tx2, err} }()
	var failed error
	for range 2 {
		select {
		case r := <-results:
			if r.err != nil {
				failed = r.err
				r.tx.Rollback() // the victim lets the survivor finish
			}
		case <-time.After(time.Minute):
			t.Fatal("no deadlock detected in a minute")
		}
	}
	if failed == nil || !retryable(failed) {
		t.Fatalf("deadlock error %v: retryable = false", failed)
	}
	if retryable(errors.New("disk full")) || retryable(sql.ErrNoRows) {
		t.Fatal("an ordinary error is called retryable")
	}
}

// SQLite's busy database is retryable too: a second connection writing while the first
// holds the write lock, with no busy timeout.
func TestSQLiteBusyIsRetryable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	a, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate&_busy_timeout=0")
	defer b.Close()
	a.Exec(`CREATE TABLE t(x)`)
	tx, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = b.Exec(`INSERT INTO t VALUES(1)`)
	if err == nil || !retryable(err) {
		t.Fatalf("busy error %v: retryable = false", err)
	}
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`:                 `SELECT 1`,
		`a = ? AND b = ?`:          `a = $1 AND b = $2`,
		`x LIKE 'v1:?%' AND y = ?`: `x LIKE 'v1:?%' AND y = $1`,
		`"odd?name" = ? OR z = 'it''s ?' OR w IN (?,?)`: `"odd?name" = $1 OR z = 'it''s ?' OR w IN ($2,$3)`,
	} {
		if got := postgresDialect.rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
		if got := sqliteDialect.rebind(in); got != in {
			t.Errorf("SQLite rebind changed %q to %q", in, got)
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/hub.db": "/var/lib/hub.db",
		"postgres://hub:s3cret@db.tinh:5432/hub?sslmode=require": "postgres://hub:xxxxx@db.tinh:5432/hub?sslmode=require",
		"postgresql://db/hub?password=s3cret&user=hub":           "postgresql://db/hub?password=xxxxx&user=hub",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
