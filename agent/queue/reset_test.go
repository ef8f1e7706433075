package queue

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"motcua-agent/internal/testkit"
)

// damage breaks a closed record's pages so the next Open moves it aside.
func damage(t *testing.T, path string) {
	t.Helper()
	db, _ := sql.Open("sqlite3", "file:"+path)
	db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	db.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(strings.Repeat("\xff\x00garbage", 3000)), 4096)
	f.Close()
}

// After the record is reset during the day, no number already issued that day is
// issued again: read back from the old file when it still reads, or continued in a
// fresh range (said on the dashboard) when it does not.
func TestNumbersAcrossAReset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		oldUnread  bool
		wantNext   int
		wantNotice bool
	}{
		{"old file readable", false, 0, false},
		{"old file unreadable", true, 1500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := testkit.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, ict))
			path := filepath.Join(t.TempDir(), "agent.db")
			st := openStore(t, path, c.Now)
			q := openQueue(t, st, c.Now)
			issued := map[int]bool{}
			for range 3 {
				issued[must(t)(q.Issue(ctx, "A", false)).Number] = true
			}
			// Events the reset loses are not a concern here; what matters is the
			// numbers the citizens hold. Fill pages so damage hits data.
			for range 200 {
				must(t)(q.Issue(ctx, "C", false))
			}
			st.Close()
			if tc.oldUnread {
				damage(t, path)
			} else {
				// A damaged header page only: SQLite says NOTADB, yet the copy moved aside
				// is the intact file it was a moment ago.
				f, _ := os.OpenFile(path, os.O_RDWR, 0)
				f.WriteAt([]byte("not a database!\x00"), 0) // the 16-byte magic only
				f.Close()
			}
			c.Add(time.Hour)
			st2 := openStore(t, path, c.Now)
			defer st2.Close()
			if _, _, ok := st2.Reset(); !ok {
				t.Fatal("the record was not reset")
			}
			if !tc.oldUnread {
				// Give the moved-aside file its header back: it reads again.
				aside, _, _ := st2.Reset()
				f, _ := os.OpenFile(aside, os.O_RDWR, 0)
				f.WriteAt([]byte("SQLite format 3\x00"), 0)
				f.Close()
			}
			q2 := openQueue(t, st2, c.Now)
			n := must(t)(q2.Issue(ctx, "A", false)).Number
			if issued[n] {
				t.Fatalf("number %d issued twice on the same day", n)
			}
			if tc.wantNext != 0 && n != tc.wantNext {
				t.Fatalf("next number %d, want %d (the fresh range)", n, tc.wantNext)
			}
			if !tc.oldUnread && n != 1004 {
				t.Fatalf("next number %d, want 1004 (read back from the old file)", n)
			}
			if (q2.Notice() != "") != tc.wantNotice {
				t.Fatalf("notice %q", q2.Notice())
			}
		})
	}
}
