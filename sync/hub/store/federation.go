package store

// The storage side of the national tier (the uploader itself is sync/hub/federation):
// the outbox's tables, and the marks every ingest transaction leaves for it.

import (
	"context"
	"fmt"
	"sort"
)

// federationSchema is the provincial side's tables. Portable SQL (SQLite and
// PostgreSQL): TEXT and BIGINT, no rowid tricks.
//
//   - upstream_dirty: days whose totals may have changed since the last refresh; the
//     ingest transaction marks them, the refresh takes them.
//   - upstream_rows: the outbox, one row per (day, metric, dims) with its absolute
//     value and the revision at which it last changed.
//   - upstream_seq: the hub-wide revision sequence (one row).
//   - upstream_meta: the upload client's watermark and status, and the epoch.
//   - upstream_lease: which hub process may refresh and push (several processes may
//     share one PostgreSQL database; only one uploads at a time).
const federationSchema = `
CREATE TABLE IF NOT EXISTS upstream_dirty(
	day TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS upstream_rows(
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	dims TEXT NOT NULL,
	value BIGINT NOT NULL,
	revision BIGINT NOT NULL,
	PRIMARY KEY(day, metric, dims)
);
CREATE INDEX IF NOT EXISTS upstream_rows_by_revision ON upstream_rows(revision);
CREATE TABLE IF NOT EXISTS upstream_seq(
	name TEXT PRIMARY KEY,
	last BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS upstream_meta(
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS upstream_lease(
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	expires BIGINT NOT NULL
);
`

// Reserved dimension keys on the rows a provincial hub pushes: the site's code and its
// commune as the province recorded it. A national hub's reports read them (groupExpr).
const (
	DimSite    = "site"
	DimCommune = "commune"
)

// markUpstreamDirty notes, inside the ingest transaction, the days a group of pushes
// touched. Every hub marks them, with or without an upstream: it costs one row per
// distinct day, and a hub given --upstream later finds its history already marked.
//
// The mark is written with DO UPDATE, not DO NOTHING, so that it locks the row even
// when the day is already marked. On PostgreSQL (read committed) DO NOTHING would take
// no lock: a refresh could delete the old mark and read the day before this transaction
// commits, and the change would be left without a mark. With the lock the refresh's
// DELETE waits for this commit and its next statement reads the day with this change.
// Days are marked in sorted order, the order the refresh takes them, so the two never
// wait on each other in a cycle. On SQLite one writer at a time makes all this moot.
func markUpstreamDirty(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int) error {
	seen := map[string]bool{}
	var days []string
	for _, i := range stored {
		for _, s := range group[i].push.Snapshots {
			if !seen[s.Day] {
				seen[s.Day] = true
				days = append(days, s.Day)
			}
		}
	}
	sort.Strings(days)
	for _, day := range days {
		if _, err := tx.ExecContext(ctx, `INSERT INTO upstream_dirty(day) VALUES(?) ON CONFLICT(day) DO UPDATE SET day = excluded.day`, day); err != nil {
			return fmt.Errorf("mark day %s for the upstream: %w", day, err)
		}
	}
	return nil
}

// recordReportedPlaces notes, inside the ingest transaction, the (site, commune) pairs
// that rows from a provincial hub name (at a national hub; an agent's rows name none,
// and cost a map lookup each). They could be read from the counters' dims, but that is
// a scan of the nation's rows on every page view; kept here, a page reads a few
// thousand rows. Taken in sorted order, like every other row of the
// ingest, so two hubs never wait on each other in a cycle.
func recordReportedPlaces(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int) error {
	type place struct{ device, site, commune string }
	seen := map[place]bool{}
	var places []place
	for _, i := range stored {
		j := group[i]
		for _, s := range j.push.Snapshots {
			site := s.Dims[DimSite]
			if site == "" {
				continue
			}
			p := place{j.device, site, s.Dims[DimCommune]}
			if !seen[p] {
				seen[p] = true
				places = append(places, p)
			}
		}
	}
	sort.Slice(places, func(a, b int) bool {
		if places[a].device != places[b].device {
			return places[a].device < places[b].device
		}
		return places[a].site < places[b].site
	})
	for _, p := range places {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reported_places(device, site, commune) VALUES(?, ?, ?)
			ON CONFLICT(device, site) DO UPDATE SET commune = excluded.commune`, p.device, p.site, p.commune); err != nil {
			return fmt.Errorf("record the place %s of %s: %w", p.site, p.device, err)
		}
	}
	return nil
}
