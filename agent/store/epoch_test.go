package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// Each opening of the record counts in its own epoch: the rows sync sends never reuse a
// (row, epoch, revision) from before, while Counters shows the day's combined figures.
func TestEpochsPerOpening(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, ict)
	add := func(s *Store, n int, peak int64) {
		for range n {
			if _, err := s.Append(ctx, Event{Time: at, Kind: "t", Counts: []Count{
				{Metric: "issued", Value: 1},
				{Metric: "peak", Op: OpMax, Value: peak},
				{Metric: "people", Op: OpUnique, Key: "same-person"},
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s1 := openTest(t, dir, Options{Path: path, Boot: "boot-1"})
	add(s1, 3, 7)
	s1.Close()
	s2 := openTest(t, dir, Options{Path: path, Boot: "boot-2"})
	add(s2, 2, 5)

	rows, err := s2.CountersChangedSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	type k struct{ metric, epoch string }
	got := map[k]int64{}
	for _, r := range rows {
		got[k{r.Metric, r.Epoch}] = r.Value
	}
	want := map[k]int64{{"issued", "boot-1"}: 3, {"issued", "boot-2"}: 2, {"peak", "boot-1"}: 7, {"peak", "boot-2"}: 5,
		{"people", "boot-1"}: 1}
	if len(got) != len(want) {
		t.Fatalf("per-epoch rows %v, want %v", got, want)
	}
	for kk, v := range want {
		if got[kk] != v {
			t.Errorf("%v = %d, want %d (all: %v)", kk, got[kk], v, got)
		}
	}
	day, _ := s2.Counters(ctx, "2026-12-01")
	combined := map[string]int64{}
	for _, r := range day {
		combined[r.Metric] = r.Value
	}
	if combined["issued"] != 5 || combined["peak"] != 7 || combined["people"] != 1 {
		t.Fatalf("combined %v, want issued 5, peak 7, people 1", combined)
	}
	fold, _ := s2.Fold(ctx)
	for _, r := range fold {
		if r.Value != combined[r.Metric] {
			t.Errorf("fold %s = %d, counters %d", r.Metric, r.Value, combined[r.Metric])
		}
	}
}

// A record written by the first schema keeps its counters, in the empty epoch, which is
// how an older agent pushed them.
func TestMigrationKeepsOldCounters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "agent.db")
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0] + `; PRAGMA user_version = 1;
		INSERT INTO counters(day, metric, dims, value, revision) VALUES('2026-11-30', 'issued', '{}', 41, 77)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openTest(t, t.TempDir(), Options{Path: path})
	rows, err := s.CountersChangedSince(context.Background(), 0, 10)
	if err != nil || len(rows) != 1 || rows[0].Value != 41 || rows[0].Revision != 77 || rows[0].Epoch != "" {
		t.Fatalf("after migration: %+v %v", rows, err)
	}
}
