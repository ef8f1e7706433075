package hub

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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

func (w *writer) commit(group []*ingestJob, now time.Time) ([]ingestResult, error) {
	ctx := context.Background()
	tx, err := w.h.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin ingest transaction: %w", err)
	}
	defer tx.Rollback()
	nonceStmt, err := tx.PrepareContext(ctx, `INSERT INTO nonces(device, nonce, seen_at) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("prepare nonce insert: %w", err)
	}
	defer nonceStmt.Close()
	upsert, err := tx.PrepareContext(ctx, `INSERT INTO counters(device, day, metric, dims, epoch, value, revision)
		VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(device, day, metric, dims, epoch) DO UPDATE SET value = excluded.value, revision = excluded.revision
		WHERE excluded.revision > counters.revision`)
	if err != nil {
		return nil, fmt.Errorf("prepare counter upsert: %w", err)
	}
	defer upsert.Close()
	results := make([]ingestResult, len(group))
	for i, j := range group {
		res, err := nonceStmt.ExecContext(ctx, j.device, j.nonce, now.Unix())
		if err != nil {
			return nil, fmt.Errorf("record nonce: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			results[i].replay = true
			continue
		}
		for _, s := range j.push.Snapshots {
			res, err := upsert.ExecContext(ctx, j.device, s.Day, s.Metric, wire.CanonicalDims(s.Dims), s.Epoch, s.Value, s.Revision)
			if err != nil {
				return nil, fmt.Errorf("store counter: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				results[i].accepted++
			} else {
				results[i].ignored++
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(revision), 0) FROM counters WHERE device = ?`, j.device).
			Scan(&results[i].maxRevision); err != nil {
			return nil, fmt.Errorf("read max revision: %w", err)
		}
		if err := saveContact(ctx, tx, j, now); err != nil {
			return nil, err
		}
	}
	if err := markUpstreamDirty(ctx, tx, group); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit ingest: %w", err)
	}
	return results, nil
}

// saveContact records the push in the fleet table: last contact always, the heartbeat
// when there is one.
func saveContact(ctx context.Context, tx *sql.Tx, j *ingestJob, now time.Time) error {
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
				watermark = max(watermark, excluded.watermark), pushes = pushes + 1`,
			j.device, hb.Version, contact, offset, hb.Backlog, string(devices), ack)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO fleet(device, last_contact, watermark, pushes) VALUES(?, ?, ?, 1)
			ON CONFLICT(device) DO UPDATE SET last_contact = excluded.last_contact,
				watermark = max(watermark, excluded.watermark), pushes = pushes + 1`,
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
