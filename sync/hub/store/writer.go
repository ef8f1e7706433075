package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"motcua-agent/sync/wire"
)

// ingestJob is one authenticated, validated push waiting for its commit.
type ingestJob struct {
	device string
	site   string // the device's enrolled site
	nonce  string
	push   *wire.PushRequest
	done   chan ingestResult
	queued time.Time // when it entered the writer's queue
	dims   []string  // each snapshot's canonical dims (snapshotDims)
}

type ingestResult struct {
	accepted, ignored int
	maxRevision       int64 // the device's highest revision held, after this push
	replay            bool
	overBudget        bool               // refused: past a row budget (rowbudget.go)
	release           *wire.ReleaseOffer // what the current rollout offers the device (rollout.go)
	err               error
}

// writer commits pushes in small groups: one transaction and one fsync for all the
// pushes that arrived while the previous group was committing. A push is answered only
// after its group is durable. SQLite has one writer loop (the file has one write
// lock); PostgreSQL several, whose transactions run side by side as other hubs' do.
type writer struct {
	h     *Store
	jobs  chan *ingestJob
	quit  chan struct{}
	loops sync.WaitGroup
	// shards is the summary shard of this hub's first writer loop (the others follow).
	shards int64
}

const maxGroup = 128

func startWriter(h *Store) *writer {
	w := &writer{h: h, jobs: make(chan *ingestJob, 4*maxGroup), quit: make(chan struct{})}
	// Each loop adds to summary rows of its own shard, so two loops' transactions never
	// wait for each other's commit on a hot total; another hub's loops take other
	// shards, most likely.
	w.shards = rand.Int64N(summaryShards)
	for i := range h.db.d.writers() {
		w.loops.Go(func() { w.loop(i == 0, (w.shards+int64(i))%summaryShards) })
	}
	return w
}

func (w *writer) stop() {
	close(w.quit)
	w.loops.Wait()
}

// errQueueFull means a push found no place in the writer's queue within the wait.
var errQueueFull = fmt.Errorf("the writer's queue stayed full")

// submit queues a push, waiting at most wait for a place, and waits for its commit.
func (w *writer) submit(ctx context.Context, wait time.Duration, j *ingestJob) ingestResult {
	j.done = make(chan ingestResult, 1)
	if len(j.push.Snapshots) > 0 {
		j.snapshotDims(0)
	}
	j.queued = time.Now()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case w.jobs <- j:
	case <-timer.C:
		return ingestResult{err: errQueueFull}
	case <-ctx.Done():
		return ingestResult{err: ctx.Err()}
	case <-w.quit:
		return ingestResult{err: fmt.Errorf("hub is shutting down")}
	}
	// Once queued the push will be committed or failed; wait for the answer even if the
	// client hangs up, so the result is logged consistently.
	return <-j.done
}

// loop commits groups until stop; the pruner also forgets old nonces now and then.
func (w *writer) loop(pruner bool, shard int64) {
	lastPrune := time.Time{}
	for {
		group, ok := gather(w.jobs, w.quit, maxGroup)
		if !ok {
			w.failPending()
			return
		}
		picked := time.Now()
		for _, j := range group {
			w.h.load.waited(picked.Sub(j.queued))
		}
		now := w.h.now()
		results, err := w.commitIn(group, now, shard)
		for i, j := range group {
			if err != nil {
				j.done <- ingestResult{err: err}
			} else {
				j.done <- results[i]
			}
		}
		w.h.metrics.commits.Add(1)
		if pruner && now.Sub(lastPrune) > time.Minute {
			w.prune(now)
			lastPrune = now
		}
	}
}

// gather waits for the first item of queue, then takes those waiting behind it, up to
// max in all, without waiting more; false once quit is closed.
func gather[T any](queue <-chan T, quit <-chan struct{}, max int) ([]T, bool) {
	var batch []T
	select {
	case q := <-queue:
		batch = append(batch, q)
	case <-quit:
		return nil, false
	}
	for len(batch) < max {
		select {
		case q := <-queue:
			batch = append(batch, q)
		default:
			return batch, true
		}
	}
	return batch, true
}

func (w *writer) failPending() {
	for {
		select {
		case j := <-w.jobs:
			j.done <- ingestResult{err: fmt.Errorf("hub is shutting down")}
		default:
			return
		}
	}
}

// commitAttempts bounds the retries of a group that met a conflict with another hub's
// writer (PostgreSQL deadlock or serialization failure): each attempt is one whole
// transaction, rolled back whole when it fails, so a retry never stores twice.
const commitAttempts = 5

func (w *writer) commit(group []*ingestJob, now time.Time) ([]ingestResult, error) {
	return w.commitIn(group, now, w.shards)
}

// commitIn is commit by the writer loop that adds to summary rows of shard.
func (w *writer) commitIn(group []*ingestJob, now time.Time, shard int64) ([]ingestResult, error) {
	for attempt := 1; ; attempt++ {
		results, err := w.commitOnce(group, now, shard)
		if err == nil || !retryable(err) || attempt == commitAttempts {
			return results, err
		}
		w.h.metrics.retries.Add(1)
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
}

// commitOnce stores a group in one transaction with a few statements for the whole
// group (each a round trip to PostgreSQL): the nonces, the counters, the devices'
// highest revisions, their contacts. Every statement takes its rows in one order
// (device, then key), the same in every hub, so two hubs committing groups that share
// rows wait for each other rather than deadlock.
func (w *writer) commitOnce(group []*ingestJob, now time.Time, shard int64) ([]ingestResult, error) {
	ctx := context.Background()
	tx, err := w.h.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin ingest transaction: %w", err)
	}
	defer tx.Rollback()
	results := make([]ingestResult, len(group))
	fresh, err := recordNonces(ctx, tx, group, now)
	if err != nil {
		return nil, err
	}
	var stored []int // the jobs that are not replays
	for i := range group {
		if fresh[i] {
			stored = append(stored, i)
		} else {
			results[i].replay = true
		}
	}
	// No other writer changes the stored devices' rows until this one commits: the rows
	// the group touches, as held before it, every epoch of each, stay as read until
	// then. The row budgets count the new ones, the summaries add the differences.
	if err := lockDevices(ctx, tx, group, stored); err != nil {
		return nil, err
	}
	held, err := heldRows(ctx, tx, group, stored)
	if err != nil {
		return nil, err
	}
	if stored, err = enforceRowBudgets(ctx, tx, w.h.rowBudget, group, stored, results, held); err != nil {
		return nil, err
	}
	if err := countOverBudget(ctx, tx, group, results, now.UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		return results, tx.Commit()
	}
	after, err := storeCounters(ctx, tx, group, stored, results, held)
	if err != nil {
		return nil, err
	}
	if err := addToSummaries(ctx, tx, w.h.summary, shard, group, stored, held, after); err != nil {
		return nil, err
	}
	if err := saveContacts(ctx, tx, group, stored, results, after, now); err != nil {
		return nil, err
	}
	if err := w.h.afterStore(ctx, tx, group, stored, results, now); err != nil {
		return nil, err
	}
	// Last, in day order: the days the national tier's uploader must look at again.
	if err := markUpstreamDirty(ctx, tx, group, stored); err != nil {
		return nil, err
	}
	// At a national hub: the communes and sites a province's rows name.
	if err := recordReportedPlaces(ctx, tx, group, stored); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit ingest: %w", err)
	}
	return results, nil
}

// chunkSizes cuts n rows into statements of power-of-two sizes up to max, so a
// database that prepares statements (PostgreSQL) sees a handful of texts, not one
// per group size.
func chunkSizes(n, max int) []int {
	var out []int
	for n > 0 {
		c := max
		for c > n {
			c /= 2
		}
		out = append(out, c)
		n -= c
	}
	return out
}

// valuesSQL is the VALUES list of n rows of width parameters.
func valuesSQL(n, width int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// recordNonces inserts the group's nonces and says which jobs brought a new one: the
// others are replays (of a request this or another hub already took, or of one earlier
// in the group).
func recordNonces(ctx context.Context, tx *sqlTx, group []*ingestJob, now time.Time) ([]bool, error) {
	order := make([]int, len(group))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(group[a].device, group[b].device), strings.Compare(group[a].nonce, group[b].nonce))
	})
	inserted := map[[2]string]bool{}
	for done, size := range tx.d.rowBatches(len(order)) {
		devices, nonces, seen := make([]string, size), make([]string, size), make([]int64, size)
		for r, i := range order[done : done+size] {
			devices[r], nonces[r], seen[r] = group[i].device, group[i].nonce, now.Unix()
		}
		cte, args := tx.d.rowsCTE("k", textCol("device", devices), textCol("nonce", nonces), numCol("seen_at", seen))
		rows, err := tx.QueryContext(ctx, `WITH `+cte+`
			INSERT INTO nonces(device, nonce, seen_at) SELECT device, nonce, seen_at FROM k WHERE true ORDER BY device, nonce
			ON CONFLICT DO NOTHING RETURNING device, nonce`, args...)
		if err != nil {
			return nil, fmt.Errorf("record nonces: %w", err)
		}
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record nonces: %w", err)
			}
			inserted[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("record nonces: %w", err)
		}
	}
	fresh := make([]bool, len(group))
	for i, j := range group { // the first of two copies in one group is the one stored
		k := [2]string{j.device, j.nonce}
		if inserted[k] {
			fresh[i] = true
			delete(inserted, k)
		}
	}
	return fresh, nil
}

// maxUpsertRows caps the rows of one SQLite statement that takes them as VALUES (up to
// 7 parameters each; rowBatches).
const maxUpsertRows = 512

type counterKey struct{ device, day, metric, dims, epoch string }

func compareCounterKeys(a, b counterKey) int {
	return cmp.Or(strings.Compare(a.device, b.device), strings.Compare(a.day, b.day), strings.Compare(a.metric, b.metric),
		strings.Compare(a.dims, b.dims), strings.Compare(a.epoch, b.epoch))
}

// storeCounters stores the stored jobs' snapshots, each only over an older revision of
// itself, and counts per job the snapshots stored and ignored. The snapshots are
// applied here in the group's order, as one by one, against the rows held before it
// (read by heldRows, under their devices' locks) and those earlier snapshots wrote, so
// each row is written once, with the last value it was given: a held row is updated
// where it lies (its rowRef: no index walked), a new one inserted. It returns the rows
// the group wrote, with their values and revisions after it.
func storeCounters(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int, results []ingestResult, held map[counterKey]heldRow) (map[counterKey]heldRow, error) {
	after := make(map[counterKey]heldRow, snapshotCount(group, stored))
	for _, i := range stored {
		j := group[i]
		for k := range j.push.Snapshots {
			s := &j.push.Snapshots[k]
			key := counterKey{j.device, s.Day, s.Metric, j.snapshotDims(k), s.Epoch}
			cur, ok := after[key]
			if !ok {
				cur, ok = held[key]
			}
			if ok && s.Revision <= cur.revision {
				results[i].ignored++
				continue
			}
			results[i].accepted++
			after[key] = heldRow{value: s.Value, revision: s.Revision, ref: cur.ref, held: cur.held}
		}
	}
	updates := make([]counterKey, 0, len(after))
	var inserts []counterKey
	for k, v := range after {
		if v.held {
			updates = append(updates, k)
		} else {
			inserts = append(inserts, k)
		}
	}
	// In key order, the same in every hub.
	slices.SortFunc(updates, compareCounterKeys)
	slices.SortFunc(inserts, compareCounterKeys)
	for done, size := range tx.d.rowBatches(len(updates)) {
		part := updates[done : done+size]
		values, revisions := make([]int64, size), make([]int64, size)
		for r, k := range part {
			values[r], revisions[r] = after[k].value, after[k].revision
		}
		cte, args := tx.d.rowsCTE("k", append(heldRowsWhere(tx.d, part, after), numCol("value", values), numCol("revision", revisions))...)
		res, err := tx.ExecContext(ctx, `WITH `+cte+`
			UPDATE counters AS c SET value = k.value, revision = k.revision FROM k WHERE `+heldRowMatch(tx.d), args...)
		if err != nil {
			return nil, fmt.Errorf("store counters: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(size) {
			// A held row is not where heldRows found it, not expected under its device's
			// lock; what it held is unknown then. Rolled back and run again.
			return nil, fmt.Errorf("store counters: %d of %d held rows updated: %w", n, size, errRowAppeared)
		}
	}
	for done, size := range tx.d.rowBatches(len(inserts)) {
		part := inserts[done : done+size]
		values, revisions := make([]int64, size), make([]int64, size)
		for r, k := range part {
			values[r], revisions[r] = after[k].value, after[k].revision
		}
		cte, args := tx.d.rowsCTE("k", append(counterKeyCols(part), numCol("value", values), numCol("revision", revisions))...)
		res, err := tx.ExecContext(ctx, `WITH `+cte+`
			INSERT INTO counters(device, day, metric, dims, epoch, value, revision)
			SELECT device, day, metric, dims, epoch, value, revision FROM k WHERE true
			ORDER BY device, day, metric, dims, epoch
			ON CONFLICT(device, day, metric, dims, epoch) DO NOTHING`, args...)
		if err != nil {
			return nil, fmt.Errorf("store counters: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(size) {
			// A row was inserted since heldRows looked, not expected under the devices'
			// locks; its value before this one is unknown here. Rolled back and run
			// again, the group finds it held.
			return nil, fmt.Errorf("store counters: %d of %d new rows inserted: %w", n, size, errRowAppeared)
		}
	}
	return after, nil
}

// snapshotCount is how many snapshots the stored jobs carry.
func snapshotCount(group []*ingestJob, stored []int) int {
	n := 0
	for _, i := range stored {
		n += len(group[i].push.Snapshots)
	}
	return n
}

// counterKeyCols are the columns of the counters' keys.
func counterKeyCols(keys []counterKey) []col {
	cols := make([][]string, 5)
	for c := range cols {
		cols[c] = make([]string, len(keys))
	}
	for r, k := range keys {
		cols[0][r], cols[1][r], cols[2][r], cols[3][r], cols[4][r] = k.device, k.day, k.metric, k.dims, k.epoch
	}
	return []col{textCol("device", cols[0]), textCol("day", cols[1]), textCol("metric", cols[2]), textCol("dims", cols[3]),
		textCol("epoch", cols[4])}
}

// heldRowsWhere and heldRowMatch name held rows for an update: on PostgreSQL by
// where they lie (k.ref, a TID scan: no index walked), on SQLite by their key (the
// table is clustered by it).
func heldRowsWhere(d *dialect, keys []counterKey, rows map[counterKey]heldRow) []col {
	if !d.postgres {
		return counterKeyCols(keys)
	}
	refs := make([]string, len(keys))
	for r, k := range keys {
		refs[r] = rows[k].ref
	}
	return []col{textCol("ref", refs)}
}

func heldRowMatch(d *dialect) string {
	if d.postgres {
		return "c.ctid = k.ref::tid"
	}
	return "c.device = k.device AND c.day = k.day AND c.metric = k.metric AND c.dims = k.dims AND c.epoch = k.epoch"
}

// errRowAppeared is a conflict with another writer's insert (storeCounters): retryable.
var errRowAppeared = errors.New("a counter row appeared under the transaction: another writer inserted it")

// heldRow is a counter row's value and revision; held, for a row there before the
// group, and where it lies (rowRef).
type heldRow struct {
	value, revision int64
	held            bool
	ref             string
}

// deviceLocks is the first key of the PostgreSQL advisory locks a writer takes on the
// devices whose pushes it stores ("mc" in ASCII); the second is a hash of the device.
const deviceLocks = 0x6d63

// lockDevices takes, until the transaction ends, a lock on each device whose pushes the
// group stores: only the writer that holds it writes the device's counter rows, so
// what heldRows reads of them stays true until commit, and no other hub inserts one of
// them meanwhile. On PostgreSQL one advisory lock per device, taken in the order of
// their keys in every hub (two devices may share a key), so two hubs wait for each
// other rather than deadlock; it writes nothing, where locking each row held (FOR
// UPDATE) wrote every row's page and a WAL record for it. SQLite: nothing (its one
// writer holds the whole database already).
//
// The same statement keeps PostgreSQL, for the rest of the transaction, from joining
// by hash or merge: every statement of an ingest reaches a group's rows one by one,
// through a key or where they lie, and with a count of rows to update in hand the
// planner hashed a scan of the whole counters table instead, as long as the table was
// small (measured: 24.8 ms against 7.5 ms for 1,000 rows of 40,000). With that shape
// fixed, the rest of the transaction runs each statement's one generic plan, kept by
// the connection, instead of planning it again for every group's arrays (a tenth of
// the server's time per push, measured with pg_stat_statements).
func lockDevices(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int) error {
	if !tx.d.postgres || len(stored) == 0 {
		return nil
	}
	var keys []int64
	for _, i := range stored {
		h := fnv.New32a()
		h.Write([]byte(group[i].device))
		keys = append(keys, int64(int32(h.Sum32())))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	cte, args := tx.d.rowsCTE("k", numCol("key", keys))
	var n int64
	if err := tx.QueryRowContext(ctx, `WITH `+cte+` SELECT set_config('enable_hashjoin', 'off', true),
		set_config('enable_mergejoin', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true),
		count(pg_advisory_xact_lock(?, key::integer)) FROM k`,
		append(args, deviceLocks)...).Scan(new(string), new(string), new(string), &n); err != nil {
		return fmt.Errorf("lock devices: %w", err)
	}
	return nil
}

// heldRows reads the counters the stored jobs' snapshots name, every epoch of each
// (device, day, metric, dims) (a peak's total is the largest of its epochs), with where
// each lies (rowRef). The devices are locked (lockDevices): no other writer changes
// them between this read and the group's writes, and the summaries add the difference
// between the two.
func heldRows(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int) (map[counterKey]heldRow, error) {
	type groupKey struct{ device, day, metric, dims string }
	n := snapshotCount(group, stored)
	keys := make([]groupKey, 0, n)
	seen := make(map[groupKey]bool, n)
	for _, i := range stored {
		j := group[i]
		for k := range j.push.Snapshots {
			s := &j.push.Snapshots[k]
			key := groupKey{j.device, s.Day, s.Metric, j.snapshotDims(k)}
			if !seen[key] {
				seen[key] = true
				keys = append(keys, key)
			}
		}
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(strings.Compare(a.device, b.device), strings.Compare(a.day, b.day), strings.Compare(a.metric, b.metric),
			strings.Compare(a.dims, b.dims))
	})
	held := make(map[counterKey]heldRow, len(keys))
	for done, size := range tx.d.rowBatches(len(keys)) {
		part := keys[done : done+size]
		index := make([]int64, size)
		cols := make([][]string, 4)
		for c := range cols {
			cols[c] = make([]string, size)
		}
		for r, k := range part {
			index[r] = int64(r)
			cols[0][r], cols[1][r], cols[2][r], cols[3][r] = k.device, k.day, k.metric, k.dims
		}
		// Each row comes back with its key's place in the list, not the key's text.
		cte, args := tx.d.rowsCTE("k", numCol("i", index), textCol("device", cols[0]), textCol("day", cols[1]),
			textCol("metric", cols[2]), textCol("dims", cols[3]))
		rows, err := tx.QueryContext(ctx, `WITH `+cte+`
			SELECT k.i, c.epoch, c.value, c.revision, `+tx.d.rowRef("c")+`
			FROM `+tx.d.keyLookup("k", "counters", "c", "c.device = k.device AND c.day = k.day AND c.metric = k.metric AND c.dims = k.dims")+`
			ORDER BY k.i, c.epoch`, args...)
		if err != nil {
			return nil, fmt.Errorf("read held rows: %w", err)
		}
		for rows.Next() {
			var i int64
			var epoch string
			var v heldRow
			if err := rows.Scan(&i, &epoch, &v.value, &v.revision, &v.ref); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read held rows: %w", err)
			}
			if i < 0 || i >= int64(len(part)) {
				rows.Close()
				return nil, fmt.Errorf("read held rows: row of key %d of %d", i, len(part))
			}
			k := part[i]
			v.held = true
			held[counterKey{k.device, k.day, k.metric, k.dims, epoch}] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read held rows: %w", err)
		}
	}
	return held, nil
}

// contact is what a group's pushes tell of one device for the fleet table.
type contact struct {
	device    string
	heartbeat *wire.Heartbeat // the last push's with one; nil when none had one
	ack       int64           // the highest revision acknowledged
	pushes    int
	stored    int64 // the highest revision the group stored
}

// saveContacts records the pushes in the fleet table: last contact always, the
// heartbeat when there is one, and the device's highest revision held (max_revision:
// the rows' revisions only grow, so it is the largest ever stored), which it gives each
// job as its answer's MaxRevision.
func saveContacts(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int, results []ingestResult, after map[counterKey]heldRow, now time.Time) error {
	byDevice := map[string]*contact{}
	for _, i := range stored {
		j := group[i]
		c := byDevice[j.device]
		if c == nil {
			c = &contact{device: j.device}
			byDevice[j.device] = c
		}
		c.pushes++
		c.ack = max(c.ack, j.push.MaxRevision())
		if j.push.Heartbeat != nil {
			c.heartbeat = j.push.Heartbeat
		}
	}
	for k, v := range after {
		if c := byDevice[k.device]; c != nil {
			c.stored = max(c.stored, v.revision)
		}
	}
	held := map[string]int64{}
	saved := func(rows *sql.Rows, err error) error {
		if err != nil {
			return fmt.Errorf("record contacts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d string
			var v int64
			if err := rows.Scan(&d, &v); err != nil {
				return fmt.Errorf("record contacts: %w", err)
			}
			held[d] = v
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("record contacts: %w", err)
		}
		return nil
	}
	var beats, plain []*contact
	for _, d := range slices.Sorted(maps.Keys(byDevice)) {
		if c := byDevice[d]; c.heartbeat != nil {
			beats = append(beats, c)
		} else {
			plain = append(plain, c)
		}
	}
	at := now.UTC().Format(time.RFC3339Nano)
	for done, size := range tx.d.rowBatches(len(beats)) {
		devices, versions, ats, states := make([]string, size), make([]string, size), make([]string, size), make([]string, size)
		offsets, backlogs, acks, pushes, stored := make([]int64, size), make([]int64, size), make([]int64, size), make([]int64, size), make([]int64, size)
		for r, c := range beats[done : done+size] {
			hb := c.heartbeat
			state, _ := json.Marshal(hb.Devices)
			if hb.Devices == nil {
				state = []byte("[]")
			}
			offset := int64(0)
			if !hb.Clock.IsZero() {
				offset = hb.Clock.Sub(now).Milliseconds()
			}
			devices[r], versions[r], ats[r], states[r] = c.device, hb.Version, at, string(state)
			offsets[r], backlogs[r], acks[r], pushes[r], stored[r] = offset, int64(hb.Backlog), c.ack, int64(c.pushes), c.stored
		}
		cte, args := tx.d.rowsCTE("k", textCol("device", devices), textCol("version", versions), textCol("last_contact", ats),
			numCol("clock_offset_ms", offsets), numCol("backlog", backlogs), textCol("devices", states), numCol("watermark", acks),
			numCol("pushes", pushes), numCol("max_revision", stored))
		if err := saved(tx.QueryContext(ctx, `WITH `+cte+`
			INSERT INTO fleet(device, version, last_contact, clock_offset_ms, backlog, devices, watermark, pushes, max_revision)
			SELECT device, version, last_contact, clock_offset_ms, backlog, devices, watermark, pushes, max_revision FROM k WHERE true
			ORDER BY device
			ON CONFLICT(device) DO UPDATE SET version = excluded.version, last_contact = excluded.last_contact,
				clock_offset_ms = excluded.clock_offset_ms, backlog = excluded.backlog, devices = excluded.devices,
				watermark = CASE WHEN excluded.watermark > fleet.watermark THEN excluded.watermark ELSE fleet.watermark END,
				pushes = fleet.pushes + excluded.pushes,
				max_revision = CASE WHEN excluded.max_revision > fleet.max_revision THEN excluded.max_revision ELSE fleet.max_revision END
			RETURNING device, max_revision`, args...)); err != nil {
			return err
		}
	}
	for done, size := range tx.d.rowBatches(len(plain)) {
		devices, ats := make([]string, size), make([]string, size)
		acks, pushes, stored := make([]int64, size), make([]int64, size), make([]int64, size)
		for r, c := range plain[done : done+size] {
			devices[r], ats[r], acks[r], pushes[r], stored[r] = c.device, at, c.ack, int64(c.pushes), c.stored
		}
		cte, args := tx.d.rowsCTE("k", textCol("device", devices), textCol("last_contact", ats), numCol("watermark", acks),
			numCol("pushes", pushes), numCol("max_revision", stored))
		if err := saved(tx.QueryContext(ctx, `WITH `+cte+`
			INSERT INTO fleet(device, last_contact, watermark, pushes, max_revision)
			SELECT device, last_contact, watermark, pushes, max_revision FROM k WHERE true ORDER BY device
			ON CONFLICT(device) DO UPDATE SET last_contact = excluded.last_contact,
				watermark = CASE WHEN excluded.watermark > fleet.watermark THEN excluded.watermark ELSE fleet.watermark END,
				pushes = fleet.pushes + excluded.pushes,
				max_revision = CASE WHEN excluded.max_revision > fleet.max_revision THEN excluded.max_revision ELSE fleet.max_revision END
			RETURNING device, max_revision`, args...)); err != nil {
			return err
		}
	}
	for _, i := range stored {
		results[i].maxRevision = held[group[i].device]
	}
	return nil
}

// prune forgets nonces old enough that their timestamps are refused anyway.
func (w *writer) prune(now time.Time) {
	cutoff := now.Add(-4 * wire.MaxClockSkew).Unix()
	if _, err := w.h.db.Exec(`DELETE FROM nonces WHERE seen_at < ?`, cutoff); err != nil {
		w.h.log.Warn("prune nonces", "err", err)
	}
}
