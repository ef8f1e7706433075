// Package totals is the hub's totals: what a push may write (dims.go), the fold of
// the figures from the sums (figures.go) and the questions the web face and
// federation ask of the rows: the places, the names of codes, the sites' records, the
// table of essential services, the fleet (places.go, names.go, sites.go,
// services.go). It reads and writes through sync/hub/store and knows nothing of HTTP,
// pages or the national tier.
package totals

import (
	"context"
	"log/slog"
	"time"

	"motcua-agent/sync/hub/store"
)

// The storage's shapes of a question, as the totals ask them.
type (
	Period = store.Period
	Filter = store.Filter
	Query  = store.Query
	Report = store.Report
)

// Totals answers the questions of the web face and federation from one hub's store.
type Totals struct {
	store   *store.Store
	db, rdb *store.DB
	catalog []store.Service
	log     *slog.Logger
	now     func() time.Time
}

// New is the totals of st, with the catalogue of essential services the table lists.
func New(st *store.Store, catalog []store.Service, log *slog.Logger, now func() time.Time) *Totals {
	return &Totals{store: st, db: st.Writes(), rdb: st.Reads(), catalog: catalog, log: log, now: now}
}

// Sum sums every agent's counters over the query's period, grouped as asked
// (store.Store.Totals).
func (h *Totals) Sum(ctx context.Context, q Query) (Report, error) { return h.store.Totals(ctx, q) }
