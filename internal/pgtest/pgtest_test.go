package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Two tests get two databases: what one creates the other does not see.
func TestEachTestHasItsOwnDatabase(t *testing.T) {
	var dsns []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			dsn := New(t)
			dsns = append(dsns, dsn)
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE t(x BIGINT)`); err != nil {
				t.Fatalf("a fresh database already has the table, or cannot be written: %v", err)
			}
		})
	}
	if len(dsns) == 2 && dsns[0] == dsns[1] {
		t.Fatalf("both tests got %s", dsns[0])
	}
	// Their databases were dropped when they ended.
	var left int
	if err := get().db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname LIKE 'motcua_test_%'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases left behind", left)
	}
}
