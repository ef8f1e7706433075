package app

import (
	"context"
	"sync"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// RecoverResult is what Recover did.
type RecoverResult struct {
	Opened bool  // the file could be read
	Sent   int64 // counter rows the hub acknowledged
	Legacy int   // rows left out: written before epochs
}

// Recover sends what a record that is no longer the live one (moved aside as damaged,
// replaced by an older copy, found on an old disk) still holds to the site's hub. The
// file is only read. The hub keeps each (row, epoch) at its newest revision, so what it
// already holds changes nothing and a second run adds nothing.
func Recover(ctx context.Context, cfg *config.Config, path string) (RecoverResult, error) {
	var res RecoverResult
	rec, err := store.OpenReadOnly(ctx, path, cfg.Location())
	if err != nil {
		return res, err
	}
	defer rec.Close()
	res.Opened = true
	src := &recoverSource{StoreSource: StoreSource{Store: rec}, meta: map[string]string{}}
	c, err := NewSyncClient(cfg, src, nil)
	if err != nil {
		return res, err
	}
	err = c.PushNow(ctx)
	res.Sent, res.Legacy = c.Status().Sent, src.legacy
	return res, err
}

// recoverSource reads a moved-aside record without writing it: its sync watermark is
// kept in memory (starting from zero: the hub ignores what it already holds), and rows
// of the empty epoch are left out, because the hub keys them only by device and could
// not tell them from the live record's own pre-epoch rows.
type recoverSource struct {
	StoreSource
	mu     sync.Mutex
	meta   map[string]string
	legacy int
	seen   map[string]bool
}

func (r *recoverSource) CountersChangedSince(ctx context.Context, after int64, limit int) ([]upload.Counter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	for {
		rows, err := r.StoreSource.CountersChangedSince(ctx, after, limit)
		if err != nil || len(rows) == 0 {
			return nil, err
		}
		var out []upload.Counter
		for _, c := range rows {
			if c.Epoch != "" {
				out = append(out, c)
				continue
			}
			k := c.Day + "\x00" + c.Metric + "\x00" + wire.CanonicalDims(c.Dims)
			if !r.seen[k] {
				r.seen[k] = true
				r.legacy++
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		after = rows[len(rows)-1].Revision // a batch of legacy rows only: read on
	}
}

func (r *recoverSource) LastRevision(ctx context.Context) (int64, error) {
	return 0, nil // not the live record: no going-back-in-time check
}

func (r *recoverSource) Meta(ctx context.Context, key string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.meta[key]
	return v, ok, nil
}

func (r *recoverSource) SetMeta(ctx context.Context, key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.meta[key] = value
	return nil
}
