package store

// The storage side of the national tier (the uploader itself is sync/hub/federation):
// the outbox's tables, and the marks every ingest transaction leaves for it.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
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
// The mark must be held, not merely present, until this transaction commits: on
// PostgreSQL (read committed) a refresh could otherwise delete the old mark and read the
// day before this commit, and the change would be left without a mark. A mark already
// there is locked shared (FOR SHARE): the refresh's DELETE waits for this commit and
// its next statement reads the day with this change, while the other ingest
// transactions, which lock it shared too, do not wait for each other (an exclusive lock,
// DO UPDATE, made every writer loop of every hub queue behind the previous one's commit
// and its WAL flush: the day's mark is one row). A missing mark is inserted, which holds
// it the same way; one that another transaction inserted or deleted meanwhile is looked
// at again. Days are taken in sorted order, the order the refresh takes them, so the two
// never wait on each other in a cycle. On SQLite one writer at a time makes all this
// moot.
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
	for attempt := 0; len(days) > 0; attempt++ {
		if attempt == commitAttempts {
			return fmt.Errorf("mark days %v for the upstream: %w", days, errRowAppeared)
		}
		list := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(days)), ", ") + ")"
		args := make([]any, len(days))
		for i, d := range days {
			args[i] = d
		}
		held, err := QueryStrings(ctx, tx, `SELECT day FROM upstream_dirty WHERE day IN `+list+` ORDER BY day`+tx.d.sharedLock(), args...)
		if err != nil {
			return fmt.Errorf("mark days for the upstream: %w", err)
		}
		days = slices.DeleteFunc(days, func(d string) bool { return slices.Contains(held, d) })
		if len(days) == 0 {
			return nil
		}
		args = args[:0]
		for _, d := range days {
			args = append(args, d)
		}
		added, err := QueryStrings(ctx, tx, `INSERT INTO upstream_dirty(day) VALUES `+valuesSQL(len(days), 1)+`
			ON CONFLICT(day) DO NOTHING RETURNING day`, args...)
		if err != nil {
			return fmt.Errorf("mark days for the upstream: %w", err)
		}
		days = slices.DeleteFunc(days, func(d string) bool { return slices.Contains(added, d) })
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

// QueryStrings runs a query of one text column in tx and returns its values in order.
func QueryStrings(ctx context.Context, tx *Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
