package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

var ict = time.FixedZone("ICT", 7*3600)

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(dir, "agent.db")
	}
	if opts.Location == nil {
		opts.Location = ict
	}
	opts.AnyMetric = true
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAppendFoldsCountersInSameTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	day1 := time.Date(2026, 11, 23, 23, 59, 0, 0, ict)
	day2 := day1.Add(2 * time.Minute) // local midnight passed
	steps := []Event{
		{Time: day1, Kind: "gate.entry", Counts: []Count{{Metric: "gate.entries", Value: 1}, {Metric: "gate.occupancy", Value: 1}, {Metric: "gate.peak", Op: OpMax, Value: 1}, {Metric: "gate.unique", Op: OpUnique, Key: "h1"}}},
		{Time: day1, Kind: "gate.entry", Counts: []Count{{Metric: "gate.entries", Value: 1}, {Metric: "gate.occupancy", Value: 1}, {Metric: "gate.peak", Op: OpMax, Value: 2}, {Metric: "gate.unique", Op: OpUnique, Key: "h1"}}},
		{Time: day1, Kind: "gate.exit", Counts: []Count{{Metric: "gate.occupancy", Value: -1}, {Metric: "gate.peak", Op: OpMax, Value: 1}}},
		{Time: day2, Kind: "gate.entry", Counts: []Count{{Metric: "gate.entries", Dims: map[string]string{"lane": "A"}, Value: 1}, {Metric: "gate.unique", Op: OpUnique, Key: "h1"}}},
	}
	for _, e := range steps {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int64{}
	rows, err := s.Counters(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		got[r.Day+" "+r.Metric+" "+EncodeDims(r.Dims)] = r.Value
	}
	want := map[string]int64{
		"2026-11-23 gate.entries {}":           2,
		"2026-11-23 gate.occupancy {}":         1,
		"2026-11-23 gate.peak {}":              2,
		"2026-11-23 gate.unique {}":            1,
		`2026-11-24 gate.entries {"lane":"A"}`: 1,
		"2026-11-24 gate.unique {}":            1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counters\n got %v\nwant %v", got, want)
	}
	fold, err := s.Fold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fold, rows) {
		t.Fatalf("fold differs from counters\nfold %+v\nrows %+v", fold, rows)
	}
	// Revisions are the seq of the last change: the peak did not change at seq 3.
	for _, r := range rows {
		if r.Metric == "gate.peak" && r.Revision != 2 {
			t.Errorf("peak revision = %d, want 2 (unchanged by a lower max)", r.Revision)
		}
	}
	changed, err := s.CountersChangedSince(ctx, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 {
		t.Errorf("changed since 3: %d rows, want 2 (the day-2 rows)", len(changed))
	}
}

func TestAppendRejectsBadEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	cases := []Event{
		{},
		{Kind: "x", Counts: []Count{{Value: 1}}},
		{Kind: "x", Counts: []Count{{Metric: "m", Op: OpUnique}}},
		{Kind: "x", Counts: []Count{{Metric: "m", Op: "mul"}}},
		{Kind: "x", Attrs: AttrsOf(map[string]any{"bad": make(chan int)})},
		{Kind: "x", Attrs: AttrsOf([]int{1})},
	}
	for i, e := range cases {
		if _, err := s.Append(ctx, e); err == nil {
			t.Errorf("case %d: append accepted a bad event", i)
		}
	}
	if n, _ := s.LastSeq(ctx); n != 0 {
		t.Errorf("bad events were stored: last seq %d", n)
	}
}

func TestConcurrentAppendsAreContiguousAndDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	seqs := make(chan int64, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e, err := s.Append(ctx, Event{Kind: "test", Counts: []Count{{Metric: "n", Value: 1}}})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- e.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for q := range seqs {
		if seen[q] {
			t.Fatalf("seq %d given twice", q)
		}
		seen[q] = true
	}
	for q := int64(1); q <= workers*each; q++ {
		if !seen[q] {
			t.Fatalf("seq %d missing", q)
		}
	}
	s.Close()
	s2 := openTest(t, dir, Options{})
	rows, _ := s2.Counters(ctx, "")
	if len(rows) != 1 || rows[0].Value != workers*each {
		t.Fatalf("after reopen counters = %+v", rows)
	}
}

func TestCorruptDatabaseIsMovedAside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	junk := make([]byte, 8192)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir, Options{Path: path})
	if _, err := s.Append(context.Background(), Event{Kind: "after.corruption"}); err != nil {
		t.Fatalf("fresh store does not work: %v", err)
	}
	m, _ := filepath.Glob(path + ".corrupt-*")
	if len(m) == 0 {
		t.Fatal("corrupt file was not moved aside")
	}
	if b, _ := os.ReadFile(m[0]); len(b) != len(junk) {
		t.Errorf("moved-aside file has %d bytes, want the original %d", len(b), len(junk))
	}
}

func TestMetaAndPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, ict)
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	if err := s.SetMeta(ctx, "sync.watermark", "42"); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := s.Meta(ctx, "sync.watermark"); !ok || v != "42" {
		t.Fatalf("meta = %q %v", v, ok)
	}
	old := now.AddDate(0, 0, -40)
	s.Append(ctx, Event{Time: old, Kind: "old", Counts: []Count{{Metric: "v", Op: OpUnique, Key: "k"}}})
	s.Append(ctx, Event{Time: now, Kind: "new", Counts: []Count{{Metric: "v", Op: OpUnique, Key: "k"}}})
	n, err := s.Prune(ctx, 30*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want 1 event", n, err)
	}
	evs, _ := s.Events(ctx, EventFilter{})
	if len(evs) != 1 || evs[0].Kind != "new" {
		t.Fatalf("events after prune: %+v", evs)
	}
	rows, _ := s.Counters(ctx, "")
	if len(rows) != 2 {
		t.Fatalf("counters must survive pruning, got %+v", rows)
	}
	// Seqs are never reused after pruning.
	e, _ := s.Append(ctx, Event{Kind: "later"})
	if e.Seq != 3 {
		t.Errorf("seq after prune = %d, want 3", e.Seq)
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir(), Options{})
	s.Close()
	if _, err := s.Append(context.Background(), Event{Kind: "late"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
}

func TestIDHasher(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret", "id.key")
	h1, err := LoadIDHasher(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %v, want 0600", st.Mode().Perm())
	}
	h2, err := LoadIDHasher(path)
	if err != nil {
		t.Fatal(err)
	}
	a := h1.Hash("001099012345")
	if a != h2.Hash("0010 9901 2345") || len(a) != 64 {
		t.Fatalf("hash not stable: %s", a)
	}
	if a == NewIDHasher([]byte("another-site-key")).Hash("001099012345") {
		t.Fatal("different secrets gave the same hash")
	}
	os.WriteFile(path, []byte("not hex"), 0o600)
	if _, err := LoadIDHasher(path); err == nil {
		t.Fatal("a damaged secret was accepted")
	}
}
