package store

// Row budgets: how many distinct rows (day, metric, dims, epoch) one device, and one
// site, may hold at the hub. Whatever it signs, a device cannot make the hub's database,
// its page and its reports grow without bound: a push that would take a device or its
// site past a budget is refused whole (429 over_budget), stores nothing, and is counted
// on the fleet page.
//
// The counts live in row_counts(owner, day, rows), kept in the ingest transaction:
// owner is "device:NAME" or "site:CODE", day '' is the owner's rows in all. Several hubs
// on one PostgreSQL database read the counts concurrently, so together they may pass a
// budget by at most one group of pushes each.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// RowBudget caps the distinct rows a device and a site hold. Zero fields take the
// defaults.
type RowBudget struct {
	DevicePerDay int64 // one device, one day
	DeviceInAll  int64 // one device, every day
	SitePerDay   int64 // every device of one site, one day
}

// DefaultRowBudget is sized from the vocabulary for a PC that does everything at a
// busy office: 25 services × 10 counters on each of the queue's and the dossiers'
// metrics (about 2,000 rows), a gate's 4 lanes × 24 hours × 5 kinds on its five lane
// metrics (about 2,000), the rest a few hundred: about 4,500 rows a day, times a few
// epochs when the agent restarts during the day. A real counter PC writes a few
// hundred. In all: about 3 years of the busiest day. A site: 4 such PCs.
var DefaultRowBudget = RowBudget{DevicePerDay: 20_000, DeviceInAll: 5_000_000, SitePerDay: 80_000}

// WithDefaults is b with its zero fields set to DefaultRowBudget's.
func (b RowBudget) WithDefaults() RowBudget {
	if b.DevicePerDay <= 0 {
		b.DevicePerDay = DefaultRowBudget.DevicePerDay
	}
	if b.DeviceInAll <= 0 {
		b.DeviceInAll = DefaultRowBudget.DeviceInAll
	}
	if b.SitePerDay <= 0 {
		b.SitePerDay = DefaultRowBudget.SitePerDay
	}
	return b
}

type budgetKey struct{ owner, day string }

// enforceRowBudgets finds the rows the stored jobs would add (those not among rows,
// the ones held), refuses (marks
// overBudget, drops from the returned list) every job that would take its device or
// site past a budget, in the group's order, and counts the others' new rows.
func enforceRowBudgets(ctx context.Context, tx *sqlTx, b RowBudget, group []*ingestJob, stored []int, results []ingestResult, rows map[counterKey]heldRow) ([]int, error) {
	newRows := map[counterKey]bool{} // the rows the jobs kept so far add
	held := func(k counterKey) bool {
		_, ok := rows[k]
		return ok || newRows[k]
	}
	// Only the owners of rows not held yet are read: a group that only updates rows
	// (most, past a day's first pushes) reads no count and takes no count's lock.
	counts := map[budgetKey]int64{}
	var owners []budgetKey
	for _, i := range stored {
		j := group[i]
		for k := range j.push.Snapshots {
			s := &j.push.Snapshots[k]
			if held(counterKey{j.device, s.Day, s.Metric, j.snapshotDims(k), s.Epoch}) {
				continue
			}
			day := s.Day
			for _, o := range []budgetKey{{"device:" + j.device, day}, {"device:" + j.device, ""}, {"site:" + j.site, day}} {
				if _, ok := counts[o]; !ok {
					counts[o] = 0
					owners = append(owners, o)
				}
			}
		}
	}
	if len(owners) == 0 {
		return stored, nil
	}
	if err := readRowCounts(ctx, tx, owners, counts); err != nil {
		return nil, err
	}
	added := map[budgetKey]int64{}
	var kept []int
	for _, i := range stored {
		j := group[i]
		fresh := map[budgetKey]int64{}
		var newKeys []counterKey
		for k := range j.push.Snapshots {
			s := &j.push.Snapshots[k]
			key := counterKey{j.device, s.Day, s.Metric, j.snapshotDims(k), s.Epoch}
			if held(key) || slices.Contains(newKeys, key) {
				continue
			}
			newKeys = append(newKeys, key)
			fresh[budgetKey{"device:" + j.device, s.Day}]++
			fresh[budgetKey{"device:" + j.device, ""}]++
			fresh[budgetKey{"site:" + j.site, s.Day}]++
		}
		over := false
		for o, n := range fresh {
			limit := b.DevicePerDay
			switch {
			case strings.HasPrefix(o.owner, "site:"):
				limit = b.SitePerDay
			case o.day == "":
				limit = b.DeviceInAll
			}
			if counts[o]+n > limit {
				over = true
			}
		}
		if over {
			results[i].overBudget = true
			continue
		}
		for o, n := range fresh {
			counts[o] += n
			added[o] += n
		}
		for _, k := range newKeys {
			newRows[k] = true
		}
		kept = append(kept, i)
	}
	slices.SortFunc(owners, func(a, b budgetKey) int {
		if c := strings.Compare(a.owner, b.owner); c != 0 {
			return c
		}
		return strings.Compare(a.day, b.day)
	})
	var grown []budgetKey
	for _, o := range owners {
		if added[o] != 0 {
			grown = append(grown, o)
		}
	}
	// One statement for the group (it was one per owner: three per device on its
	// first push of a day).
	for done, size := range tx.d.rowBatches(len(grown)) {
		owners, days, rows := make([]string, size), make([]string, size), make([]int64, size)
		for r, o := range grown[done : done+size] {
			owners[r], days[r], rows[r] = o.owner, o.day, added[o]
		}
		cte, args := tx.d.rowsCTE("k", textCol("owner", owners), textCol("day", days), numCol("rows", rows))
		if _, err := tx.ExecContext(ctx, `WITH `+cte+`
			INSERT INTO row_counts(owner, day, rows) SELECT owner, day, rows FROM k WHERE true ORDER BY owner, day
			ON CONFLICT(owner, day) DO UPDATE SET rows = row_counts.rows + excluded.rows`, args...); err != nil {
			return nil, fmt.Errorf("count rows: %w", err)
		}
	}
	return kept, nil
}

func readRowCounts(ctx context.Context, tx *sqlTx, owners []budgetKey, counts map[budgetKey]int64) error {
	done := 0
	for _, size := range chunkSizes(len(owners), maxUpsertRows) {
		args := make([]any, 0, 2*size)
		for _, o := range owners[done : done+size] {
			args = append(args, o.owner, o.day)
		}
		done += size
		rows, err := tx.QueryContext(ctx, `SELECT owner, day, rows FROM row_counts WHERE (owner, day) IN (VALUES `+valuesSQL(size, 2)+`)`, args...)
		if err != nil {
			return fmt.Errorf("read row counts: %w", err)
		}
		for rows.Next() {
			var o budgetKey
			var n int64
			if err := rows.Scan(&o.owner, &o.day, &n); err != nil {
				rows.Close()
				return fmt.Errorf("read row counts: %w", err)
			}
			counts[o] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read row counts: %w", err)
		}
	}
	return nil
}

// countOverBudget adds the refused pushes to their devices' fleet rows.
func countOverBudget(ctx context.Context, tx *sqlTx, group []*ingestJob, results []ingestResult, now string) error {
	per := map[string]int64{}
	for i, j := range group {
		if results[i].overBudget {
			per[j.device]++
		}
	}
	for _, d := range slices.Sorted(maps.Keys(per)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fleet(device, last_contact, over_budget) VALUES(?, ?, ?)
			ON CONFLICT(device) DO UPDATE SET over_budget = fleet.over_budget + excluded.over_budget`, d, now, per[d]); err != nil {
			return fmt.Errorf("count refusals of %s: %w", d, err)
		}
	}
	return nil
}
