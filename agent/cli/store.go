package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"

	"motcua-agent/agent/app"
	"motcua-agent/agent/store"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

var storeCommands = []command{
	{Name: "store", Summary: "send what a moved-aside (damaged or replaced) record still holds to the hub",
		Usage: "store recover [--config FILE] [--data DIR] FILE", Run: cmdStore},
}

func cmdStore(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "recover" {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent store recover [--config FILE] [--data DIR] FILE")
		return 2
	}
	fs := flag.NewFlagSet("store recover", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent store recover [--config FILE] [--data DIR] FILE")
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		return printConfigError(err)
	}
	if !cfg.Sync.Enabled() {
		fmt.Fprintln(os.Stderr, "motcua-agent store recover: sync is not configured (sync.url, sync.secret): nowhere to send the record")
		return 1
	}
	rec, err := store.OpenReadOnly(ctx, fs.Arg(0), cfg.Location())
	if err != nil {
		fmt.Fprintf(os.Stderr, "motcua-agent store recover: %v\n(nothing was sent; a file SQLite cannot read at all cannot be recovered)\n", err)
		return 1
	}
	defer rec.Close()
	src := &recoverSource{StoreSource: app.StoreSource{Store: rec}, meta: map[string]string{}}
	c, err := app.NewSyncClient(cfg, src, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent store recover:", err)
		return 1
	}
	if err := c.PushNow(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent store recover:", err)
		fmt.Fprintln(os.Stderr, "Nothing is lost: run the command again when the hub answers; it never counts a row twice.")
		return 1
	}
	st := c.Status()
	fmt.Printf("Sent %d counter rows from %s; the hub keeps each at its newest revision, so a second run adds nothing.\n",
		st.Sent, fs.Arg(0))
	if src.legacy > 0 {
		fmt.Printf("Left out %d rows written before epochs (agent versions before schema 2): the hub cannot tell them from the live record's own.\n",
			src.legacy)
	}
	return 0
}

// recoverSource reads a moved-aside record without writing it: its sync watermark is
// kept in memory (starting from zero: the hub ignores what it already holds), and rows
// of the empty epoch are left out, because the hub keys them only by device and could
// not tell them from the live record's own pre-epoch rows.
type recoverSource struct {
	app.StoreSource
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

func (r *recoverSource) CountersPending(ctx context.Context, after int64) (int64, error) {
	return r.StoreSource.CountersPending(ctx, after)
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
