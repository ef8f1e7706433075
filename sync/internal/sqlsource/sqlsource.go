// Package sqlsource is a counter store on a real SQLite file with the agent store's row
// shape (day, metric, dims → value, revision; revision = sequence of the last change),
// used to test and measure the sync client without the agent. It is not the agent's
// store and must not grow features the client does not read.
package sqlsource

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	_ "github.com/mattn/go-sqlite3" // SQLite driver

	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// Source is one site's counters.
type Source struct {
	db *sql.DB
}

// Open opens or creates the file.
func Open(path string) (*Source, error) {
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+
		"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`
CREATE TABLE IF NOT EXISTS seq(id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
INSERT OR IGNORE INTO seq(id, last) VALUES(1, 0);
CREATE TABLE IF NOT EXISTS counters(day TEXT NOT NULL, metric TEXT NOT NULL, dims TEXT NOT NULL,
	value INTEGER NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY(day, metric, dims));
CREATE INDEX IF NOT EXISTS counters_by_revision ON counters(revision);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create source schema: %w", err)
	}
	return &Source{db: db}, nil
}

// Close closes the file.
func (s *Source) Close() error { return s.db.Close() }

// Change is one counter increment.
type Change struct {
	Day    string
	Metric string
	Dims   map[string]string
	Delta  int64
}

// Apply adds the changes in one transaction, as one event: like the agent's store,
// every row it touches gets the event's sequence number as its revision, so several
// rows share a revision.
func (s *Source) Apply(ctx context.Context, changes ...Change) error {
	return s.ApplyMany(ctx, [][]Change{changes})
}

// ApplyMany applies many events (each a list of changes) in one transaction: fast
// set-up of a large backlog.
func (s *Source) ApplyMany(ctx context.Context, events [][]Change) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, ev := range events {
		if err := applyEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func applyEvent(ctx context.Context, tx *sql.Tx, changes []Change) error {
	var rev int64
	if err := tx.QueryRowContext(ctx, `UPDATE seq SET last = last + 1 WHERE id = 1 RETURNING last`).Scan(&rev); err != nil {
		return fmt.Errorf("next sequence: %w", err)
	}
	for _, c := range changes {
		_, err := tx.ExecContext(ctx, `INSERT INTO counters(day, metric, dims, value, revision) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(day, metric, dims) DO UPDATE SET value = value + excluded.value, revision = excluded.revision`,
			c.Day, c.Metric, wire.CanonicalDims(c.Dims), c.Delta, rev)
		if err != nil {
			return fmt.Errorf("update counter: %w", err)
		}
	}
	return nil
}

// CountersChangedSince implements upload.Source.
func (s *Source) CountersChangedSince(ctx context.Context, after int64, limit int) ([]upload.Counter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day, metric, dims, value, revision FROM counters
		WHERE revision > ? ORDER BY revision LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("query changed counters: %w", err)
	}
	defer rows.Close()
	var out []upload.Counter
	for rows.Next() {
		var c upload.Counter
		var dims string
		if err := rows.Scan(&c.Day, &c.Metric, &dims, &c.Value, &c.Revision); err != nil {
			return nil, fmt.Errorf("scan counter: %w", err)
		}
		if err := json.Unmarshal([]byte(dims), &c.Dims); err != nil {
			return nil, fmt.Errorf("counter dims: %w", err)
		}
		if len(c.Dims) == 0 {
			c.Dims = nil
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// All returns every row keyed by day, metric and canonical dims.
func (s *Source) All(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day, metric, dims, value FROM counters`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var day, metric, dims string
		var v int64
		if err := rows.Scan(&day, &metric, &dims, &v); err != nil {
			return nil, err
		}
		out[day+"|"+metric+"|"+dims] = v
	}
	return out, rows.Err()
}

// Meta implements upload.Source.
func (s *Source) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, true, nil
}

// SetMeta implements upload.Source.
func (s *Source) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}
