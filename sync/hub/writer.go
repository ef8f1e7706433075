package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"motcua-agent/sync/wire"
)

// ingestJob is one authenticated, validated push waiting for its commit.
type ingestJob struct {
	device string
	nonce  string
	push   *wire.PushRequest
	done   chan ingestResult
}

type ingestResult struct {
	accepted, ignored int
	maxRevision       int64 // the device's highest revision held, after this push
	replay            bool
	err               error
}

// writer commits pushes in small groups: one transaction and one fsync for all the
// pushes that arrived while the previous group was committing. A push is answered only
// after its group is durable.
type writer struct {
	h     *Hub
	jobs  chan *ingestJob
	quit  chan struct{}
	ended chan struct{}
}

const maxGroup = 128

func startWriter(h *Hub) *writer {
	w := &writer{h: h, jobs: make(chan *ingestJob, 4*maxGroup), quit: make(chan struct{}), ended: make(chan struct{})}
	go w.loop()
	return w
}

func (w *writer) stop() {
	close(w.quit)
	<-w.ended
}

// submit queues a push and waits for its commit.
func (w *writer) submit(ctx context.Context, j *ingestJob) ingestResult {
	j.done = make(chan ingestResult, 1)
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return ingestResult{err: ctx.Err()}
	case <-w.quit:
		return ingestResult{err: fmt.Errorf("hub is shutting down")}
	}
	// Once queued the push will be committed or failed; wait for the answer even if the
	// client hangs up, so the result is logged consistently.
	return <-j.done
}

func (w *writer) loop() {
	defer close(w.ended)
	lastPrune := time.Time{}
	for {
		var group []*ingestJob
		select {
		case j := <-w.jobs:
			group = append(group, j)
		case <-w.quit:
			w.failPending()
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case j := <-w.jobs:
				group = append(group, j)
			default:
				break more
			}
		}
		now := w.h.now()
		results, err := w.commit(group, now)
		for i, j := range group {
			if err != nil {
				j.done <- ingestResult{err: err}
			} else {
				j.done <- results[i]
			}
		}
		w.h.metrics.commits.Add(1)
		if now.Sub(lastPrune) > time.Minute {
			w.prune(now)
			lastPrune = now
		}
	}
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
	// Rows are locked in one order by every hub (device, then counter key), so two hubs
	// committing groups that share devices wait for each other rather than deadlock.
	order := make([]int, len(group))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(group[a].device, group[b].device) })
	var err error
	for attempt := 1; ; attempt++ {
		var results []ingestResult
		results, err = w.commitOnce(group, order, now)
		if err == nil || !retryable(err) || attempt == commitAttempts {
			return results, err
		}
		w.h.metrics.retries.Add(1)
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
}

func (w *writer) commitOnce(group []*ingestJob, order []int, now time.Time) ([]ingestResult, error) {
	ctx := context.Background()
	tx, err := w.h.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin ingest transaction: %w", err)
	}
	defer tx.Rollback()
	results := make([]ingestResult, len(group))
	for _, i := range order {
		j := group[i]
		res, err := tx.ExecContext(ctx, `INSERT INTO nonces(device, nonce, seen_at) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`,
			j.device, j.nonce, now.Unix())
		if err != nil {
			return nil, fmt.Errorf("record nonce: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			results[i].replay = true
			continue
		}
		for _, rows := range upsertBatches(j.push.Snapshots) {
			res, err := tx.ExecContext(ctx, upsertSQL(len(rows)), upsertArgs(j.device, rows)...)
			if err != nil {
				return nil, fmt.Errorf("store counters: %w", err)
			}
			n, _ := res.RowsAffected()
			results[i].accepted += int(n)
			results[i].ignored += len(rows) - int(n)
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(revision), 0) FROM counters WHERE device = ?`, j.device).
			Scan(&results[i].maxRevision); err != nil {
			return nil, fmt.Errorf("read max revision: %w", err)
		}
		if err := saveContact(ctx, tx, j, now); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit ingest: %w", err)
	}
	return results, nil
}

// maxUpsertRows caps the rows of one upsert statement (7 parameters each; both
// databases allow far more than 7×500).
const maxUpsertRows = 500

// upsertBatches cuts a push's snapshots into statements of distinct counter keys, in
// key order: PostgreSQL refuses a statement that updates one row twice, and a push may
// carry the same counter at two revisions. Later copies of a key go to later batches,
// so the rows are applied in the order the push has them, as one by one.
func upsertBatches(snaps []wire.Snapshot) [][]upsertRow {
	var batches [][]upsertRow
	var cur []upsertRow
	seen := map[upsertRow]bool{}
	flush := func() {
		slices.SortFunc(cur, compareUpsertRows)
		batches = append(batches, cur)
		cur = nil
		clear(seen)
	}
	for i := range snaps {
		s := &snaps[i]
		r := upsertRow{day: s.Day, metric: s.Metric, dims: wire.CanonicalDims(s.Dims), epoch: s.Epoch}
		if seen[r] || len(cur) == maxUpsertRows {
			flush()
		}
		seen[r] = true
		r.value, r.revision = s.Value, s.Revision
		cur = append(cur, r)
	}
	if len(cur) > 0 {
		flush()
	}
	return batches
}

// upsertRow is one counter of a push; its key is the fields but value and revision.
type upsertRow struct {
	day, metric, dims, epoch string
	value, revision          int64
}

func compareUpsertRows(a, b upsertRow) int {
	return cmp.Or(strings.Compare(a.day, b.day), strings.Compare(a.metric, b.metric),
		strings.Compare(a.dims, b.dims), strings.Compare(a.epoch, b.epoch))
}

// upsertSQL stores n counters, each only over an older revision of itself: the rows
// affected are the snapshots accepted.
func upsertSQL(n int) string {
	return `INSERT INTO counters(device, day, metric, dims, epoch, value, revision) VALUES` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?),", n), ",") + `
		ON CONFLICT(device, day, metric, dims, epoch) DO UPDATE SET value = excluded.value, revision = excluded.revision
		WHERE excluded.revision > counters.revision`
}

func upsertArgs(device string, rows []upsertRow) []any {
	args := make([]any, 0, 7*len(rows))
	for _, r := range rows {
		args = append(args, device, r.day, r.metric, r.dims, r.epoch, r.value, r.revision)
	}
	return args
}

// saveContact records the push in the fleet table: last contact always, the heartbeat
// when there is one.
func saveContact(ctx context.Context, tx *sqlTx, j *ingestJob, now time.Time) error {
	contact := now.UTC().Format(time.RFC3339Nano)
	ack := j.push.MaxRevision()
	var err error
	if hb := j.push.Heartbeat; hb != nil {
		devices, _ := json.Marshal(hb.Devices)
		if hb.Devices == nil {
			devices = []byte("[]")
		}
		offset := int64(0)
		if !hb.Clock.IsZero() {
			offset = hb.Clock.Sub(now).Milliseconds()
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO fleet(device, version, last_contact, clock_offset_ms, backlog, devices, watermark, pushes)
			VALUES(?, ?, ?, ?, ?, ?, ?, 1)
			ON CONFLICT(device) DO UPDATE SET version = excluded.version, last_contact = excluded.last_contact,
				clock_offset_ms = excluded.clock_offset_ms, backlog = excluded.backlog, devices = excluded.devices,
				watermark = CASE WHEN excluded.watermark > fleet.watermark THEN excluded.watermark ELSE fleet.watermark END, pushes = fleet.pushes + 1`,
			j.device, hb.Version, contact, offset, hb.Backlog, string(devices), ack)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO fleet(device, last_contact, watermark, pushes) VALUES(?, ?, ?, 1)
			ON CONFLICT(device) DO UPDATE SET last_contact = excluded.last_contact,
				watermark = CASE WHEN excluded.watermark > fleet.watermark THEN excluded.watermark ELSE fleet.watermark END, pushes = fleet.pushes + 1`,
			j.device, contact, ack)
	}
	if err != nil {
		return fmt.Errorf("record contact of %s: %w", j.device, err)
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
