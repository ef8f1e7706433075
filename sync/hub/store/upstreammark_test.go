package store

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"motcua-agent/internal/pgtest"
	"motcua-agent/sync/wire"
)

// The upstream's day mark is held shared by the ingest transactions: two of them that
// mark one day both get through while the other is open (they no longer queue behind
// each other's commit), and the uploader's DELETE of the mark waits for every open
// one, so that it reads the day only after their rows are committed.
func TestUpstreamMarkSharedByIngests(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		h := openMigrated(t, pgtest.New(t))
		ctx := context.Background()
		const day = "2026-11-23"
		group := []*ingestJob{{device: "pc1", push: &wire.PushRequest{Snapshots: []wire.Snapshot{{Day: day}}}}}
		mark := func(tx *sqlTx) {
			t.Helper()
			if err := markUpstreamDirty(ctx, tx, group, []int{0}); err != nil {
				t.Fatal(err)
			}
		}
		begin := func() *sqlTx {
			t.Helper()
			tx, err := h.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			// A wait on a lock fails the statement instead of hanging the test.
			if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
				t.Fatal(err)
			}
			return tx
		}
		// The first mark of the day is inserted.
		first := begin()
		mark(first)
		if err := first.Commit(); err != nil {
			t.Fatal(err)
		}
		a := begin()
		defer a.Rollback()
		mark(a)
		b := begin()
		mark(b) // would time out if a held the mark exclusively
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		// The uploader's DELETE waits for a: within its lock timeout it cannot take the mark.
		up := begin()
		_, err := up.ExecContext(ctx, `DELETE FROM upstream_dirty WHERE day = ?`, day)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55P03" {
			t.Fatalf("the uploader's DELETE while an ingest holds the mark: %v, want a lock timeout (55P03)", err)
		}
		up.Rollback()
		if err := a.Commit(); err != nil {
			t.Fatal(err)
		}
		up = begin()
		res, err := up.ExecContext(ctx, `DELETE FROM upstream_dirty WHERE day = ?`, day)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("the uploader took %d marks of the day, want 1", n)
		}
		// An ingest that comes while the uploader's DELETE is open waits for it (and
		// then marks the day again: the uploader's reading may miss its rows).
		c := begin()
		err = markUpstreamDirty(ctx, c, group, []int{0})
		if !errors.As(err, &pe) || pe.Code != "55P03" {
			t.Fatalf("an ingest's mark while the uploader takes it: %v, want a lock timeout (55P03)", err)
		}
		c.Rollback()
		if err := up.Commit(); err != nil {
			t.Fatal(err)
		}
		d := begin()
		mark(d)
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := h.db.QueryRowContext(ctx, `SELECT count(*) FROM upstream_dirty WHERE day = ?`, day).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("marks of the day after a new ingest: %d, want 1", n)
		}
	})
}
