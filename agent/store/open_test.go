package store

import (
	"context"
	"database/sql"
	"errors"
	"motcua-agent/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newRecord writes a small valid record at path and returns its size.
func newRecord(t *testing.T, path string) {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: path, AnyMetric: true, Location: ict})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := s.Append(context.Background(), Event{Kind: "t", Attrs: AttrsOf(map[string]any{"i": i, "pad": strings.Repeat("p", 300)}),
			Counts: []Count{{Metric: "n", Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
}

func asideFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "agent.db.corrupt-*"))
	var out []string
	for _, f := range m {
		if !strings.HasSuffix(f, "-wal") && !strings.HasSuffix(f, "-shm") {
			out = append(out, f)
		}
	}
	return out
}

// Which open failures move the record aside (only real damage) and which stop with a
// sentence and leave the file as it was.
func TestOpenErrors(t *testing.T) {
	busyTimeoutMS = 300
	t.Cleanup(func() { busyTimeoutMS = 10000 })
	for _, tc := range []struct {
		name      string
		prepare   func(t *testing.T, path string) context.Context
		movedAway bool
		is        error
		says      string
	}{
		{"not a database", func(t *testing.T, path string) context.Context {
			os.WriteFile(path, []byte(strings.Repeat("this is a spreadsheet, not a record\n", 200)), 0o644)
			return context.Background()
		}, true, nil, ""},
		{"corrupt pages", func(t *testing.T, path string) context.Context {
			newRecord(t, path)
			db, _ := sql.Open("sqlite3", "file:"+path)
			db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
			db.Close()
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			f.WriteAt([]byte(strings.Repeat("\xff\x00garbage", 2000)), 4096) // pages 2 to 5
			f.Close()
			return context.Background()
		}, true, nil, ""},
		{"newer schema", func(t *testing.T, path string) context.Context {
			newRecord(t, path)
			db, _ := sql.Open("sqlite3", dsn(path))
			// A newer agent's migration 99 that was not additive (TestRolledBack… opens
			// one that was).
			db.Exec(`PRAGMA user_version = 99`)
			db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_readable_from'`)
			db.Close()
			return context.Background()
		}, false, ErrNewerSchema, "install the newer motcua-agent"},
		{"cancelled", func(t *testing.T, path string) context.Context {
			newRecord(t, path)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, false, context.Canceled, "interrupted"},
		{"busy", func(t *testing.T, path string) context.Context {
			newRecord(t, path)
			db, _ := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE")
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`PRAGMA journal_mode=DELETE; PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO meta VALUES('x','y')`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec(`ROLLBACK`); db.Close() })
			return context.Background()
		}, false, nil, "locked by another program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "agent.db")
			ctx := tc.prepare(t, path)
			before, _ := os.ReadFile(path)
			s, err := Open(ctx, Options{Path: path, AnyMetric: true, Location: ict})
			aside := asideFiles(t, dir)
			if tc.movedAway {
				if err != nil || len(aside) != 1 {
					t.Fatalf("damaged record: err %v, moved aside %v; want a fresh record and the old one moved", err, aside)
				}
				if a, _, ok := s.Reset(); !ok || a != aside[0] {
					t.Errorf("Reset() = %q %v, want %s", a, ok, aside[0])
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("opened; want a refusal")
			}
			if len(aside) != 0 {
				t.Fatalf("moved aside on %v", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the refused record was changed")
			}
		})
	}
}

// A record on a disk that became read-only is refused at open with a sentence, not
// moved aside; a read-only look (OpenReadOnly) still works.
func TestOpenReadOnlyDisk(t *testing.T) {
	dir := testkit.MountTmpfs(t, "8m")
	path := filepath.Join(dir, "agent.db")
	newRecord(t, path)
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("remount read-only: %v %s", err, out)
	}
	_, err := Open(context.Background(), Options{Path: path, AnyMetric: true})
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("open on a read-only disk: %v", err)
	}
	ro, err := OpenReadOnly(context.Background(), path, ict)
	if err != nil {
		t.Fatalf("read-only look: %v", err)
	}
	defer ro.Close()
	rows, err := ro.Counters(context.Background(), "")
	if err != nil || len(rows) != 1 || rows[0].Value != 200 {
		t.Fatalf("counters through a read-only look: %+v %v", rows, err)
	}
	if _, err := ro.Append(context.Background(), Event{Kind: "t"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append to a read-only look: %v", err)
	}
}

// A read-only look never migrates, moves or writes the file, even an older or a
// damaged one.
func TestOpenReadOnlyLeavesFileAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	db, _ := sql.Open("sqlite3", "file:"+path)
	if _, err := db.Exec(migrations[0] + `; PRAGMA user_version = 1;
		INSERT INTO counters(day, metric, dims, value, revision) VALUES('2026-11-30', 'n', '{}', 5, 3)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	ro, err := OpenReadOnly(context.Background(), path, ict)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ro.Counters(context.Background(), "")
	ro.Close()
	if err != nil || len(rows) != 1 || rows[0].Value != 5 {
		t.Fatalf("old record through a look: %+v %v", rows, err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("OpenReadOnly changed an older record")
	}
	os.WriteFile(path, []byte(strings.Repeat("x", 9000)), 0o644)
	if _, err := OpenReadOnly(context.Background(), path, ict); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged record: %v, want ErrCorrupt", err)
	}
	if len(asideFiles(t, dir)) != 0 {
		t.Fatal("OpenReadOnly moved a file")
	}
	_ = time.Now
}
