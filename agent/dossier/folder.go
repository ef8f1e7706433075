package dossier

import (
	"context"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
)

// StoreMarks keeps the scan folder's processed-file marks in the store's meta table,
// so a restart never counts a page twice.
type StoreMarks struct{ Store *store.Store }

const markPrefix = "scanfolder:"

// Seen implements qrimage.Marks.
func (m StoreMarks) Seen(ctx context.Context, key string) (bool, error) {
	_, ok, err := m.Store.Meta(ctx, markPrefix+key)
	return ok, err
}

// Mark implements qrimage.Marks.
func (m StoreMarks) Mark(ctx context.Context, key string) error {
	return m.Store.SetMeta(ctx, markPrefix+key, time.Now().UTC().Format(time.RFC3339))
}

// Pages attributes scanned pages to dossiers: a page with a receipt code starts (or
// continues) that dossier; pages without one that follow within FollowFor belong to
// the last dossier seen, as a batch scan of "receipt, then its components" produces.
type Pages struct {
	Flow       *Flow
	Classifier *qrpayload.Classifier
	Counter    string
	FollowFor  time.Duration
	current    qrpayload.Receipt
	lastPage   time.Time
}

// Handle is a qrimage.Watcher's Handle.
func (p *Pages) Handle(ctx context.Context, page qrimage.Page) error {
	now := p.Flow.Now()
	var found *qrpayload.Receipt
	for _, c := range page.Codes {
		if r, ok := p.Classifier.Receipt(c.Text); ok {
			found = &r
			break
		}
	}
	if found == nil && p.current.Code != "" && now.Sub(p.lastPage) <= p.FollowFor {
		found = &p.current
	}
	if found == nil {
		attrs := map[string]any{"file": page.Name, "codes": len(page.Codes)}
		if page.Err != nil {
			attrs["error"] = page.Err.Error()
		}
		_, err := p.Flow.Store.Append(ctx, store.Event{Kind: "dossier.page.unmatched", Site: p.Flow.Site, Counter: p.Counter, Attrs: attrs})
		p.Flow.Log.Warn("scanned page has no dossier receipt code", "file", page.Name, "err", page.Err)
		return err
	}
	p.current, p.lastPage = *found, now
	_, err := p.Flow.Digitized(ctx, found.Code, found.Service, p.Counter, "scan-folder", false, 1, 1)
	return err
}
