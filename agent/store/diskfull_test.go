package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fillUntilFull appends until the store reports a full disk, returning what was
// acknowledged.
func fillUntilFull(t *testing.T, s *Store) (acked int64, err error) {
	ctx := context.Background()
	blob := strings.Repeat("x", 2000)
	for i := 0; i < 100000; i++ {
		_, err = s.Append(ctx, Event{Kind: "fill", Attrs: AttrsOf(map[string]any{"blob": blob}), Counts: []Count{{Metric: "fill", Value: 1}}})
		if err != nil {
			return acked, err
		}
		acked++
	}
	t.Fatal("disk never filled")
	return
}

func checkAfterFull(t *testing.T, s *Store, acked int64, err error) {
	t.Helper()
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("error on a full disk = %v, want ErrDiskFull", err)
	}
	if !strings.Contains(err.Error(), "free space") {
		t.Errorf("error does not say what to do: %v", err)
	}
	ctx := context.Background()
	rows, _ := s.Counters(ctx, "")
	if len(rows) != 1 || rows[0].Value != acked {
		t.Fatalf("counters %+v, want %d acknowledged", rows, acked)
	}
	var res string
	if err := s.DB().QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity after disk full: %q %v", res, err)
	}
}

// A size-limited database (SQLite's page limit answers exactly like a full disk).
func TestDiskFullPageLimit(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir(), Options{MaxBytes: 256 << 10})
	acked, err := fillUntilFull(t, s)
	checkAfterFull(t, s, acked, err)
}

// A real full file system: a 1 MiB tmpfs (needs root and mount rights; skipped otherwise).
func TestDiskFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	path := filepath.Join(dir, "agent.db")
	s, err := Open(context.Background(), Options{Path: path, Location: ict, AnyMetric: true})
	if err != nil {
		t.Fatal(err)
	}
	acked, ferr := fillUntilFull(t, s)
	checkAfterFull(t, s, acked, ferr)
	s.Close()
	// Reopen: everything acknowledged is there.
	s2, err := Open(context.Background(), Options{Path: path, Location: ict, AnyMetric: true})
	if err != nil {
		t.Fatalf("reopen after disk full: %v", err)
	}
	defer s2.Close()
	rows, _ := s2.Counters(context.Background(), "")
	if len(rows) != 1 || rows[0].Value != acked {
		t.Fatalf("after reopen counters %+v, want %d", rows, acked)
	}
}
