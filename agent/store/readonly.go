package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"motcua-agent/internal/metrics"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"
)

// OpenReadOnly opens a record only to look at it (the `events`, `counters`, `sync
// status` and `store recover` commands): it never migrates, moves or writes the file,
// and works beside a running agent. A damaged file is an ErrCorrupt error, a newer one
// ErrNewerSchema. A record of an older schema is read through a migrated snapshot copy
// in a temporary folder, removed by Close. Every write returns ErrReadOnly.
func OpenReadOnly(ctx context.Context, path string, loc *time.Location) (*Store, error) {
	if loc == nil {
		loc = time.FixedZone("ICT", 7*3600)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout="+strconv.Itoa(busyTimeoutMS))
	if err != nil {
		return nil, classifyOpen(path, err)
	}
	db.SetMaxOpenConns(4)
	var res string
	err = db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res)
	if code, ok := sqliteCode(err); ok && code == sqlite3.ErrCantOpen {
		// A WAL record on read-only media cannot create its shared-memory file; nobody
		// can be writing there, so read the file as it stands.
		db.Close()
		db, _ = sql.Open("sqlite3", "file:"+path+"?mode=ro&immutable=1")
		err = db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res)
	}
	if err != nil {
		db.Close()
		return nil, classifyOpen(path, err)
	}
	if res != "ok" {
		db.Close()
		return nil, fmt.Errorf("%w: %s: integrity check: %s", ErrCorrupt, path, res)
	}
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		db.Close()
		return nil, classifyOpen(path, err)
	}
	reg := metrics.New()
	s := &Store{db: db, path: path, loc: loc, now: time.Now, log: slog.New(slog.DiscardHandler), readOnly: true,
		done: make(chan struct{}), stop: make(chan struct{}),
		appends: reg.Counter("appends", ""), appendErrs: reg.Counter("append_errors", "")}
	close(s.done)
	switch {
	case v > len(migrations) && newerUsable(ctx, db, v) != nil:
		db.Close()
		return nil, fmt.Errorf("%w: %s has schema version %d, this agent knows up to %d: use the newer motcua-agent to read it",
			ErrNewerSchema, path, v, len(migrations))
	case v < len(migrations):
		// An older record: snapshot it (VACUUM INTO reads, never writes, the source)
		// and bring the copy to the current schema.
		dir, err := os.MkdirTemp("", "motcua-record-")
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: temporary copy: %w", err)
		}
		cp := filepath.Join(dir, "copy.db")
		if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, cp); err != nil {
			db.Close()
			os.RemoveAll(dir)
			return nil, classifyOpen(path, err)
		}
		db.Close()
		cdb, err := sql.Open("sqlite3", dsn(cp))
		if err == nil {
			err = migrate(ctx, cdb)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("store: read %s through a copy: %w", path, err)
		}
		s.db, s.tmpDir = cdb, dir
	}
	return s, nil
}
