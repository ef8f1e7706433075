package hub

import (
	"context"

	"motcua-agent/sync/hub/totals"
	"motcua-agent/sync/hub/web"
)

// The totals are sync/hub/totals; the hub keeps their names for its callers and adds
// to the fleet what only it knows (each device's configuration).

type (
	Site         = totals.Site
	SiteChange   = totals.SiteChange
	Place        = totals.Place
	ServiceRow   = totals.ServiceRow
	ServiceTable = totals.ServiceTable
	FleetAgent   = totals.FleetAgent
	FleetConfig  = totals.FleetConfig
)

// Device kinds recorded at enrollment.
const (
	KindAgent = totals.KindAgent // a counter PC: writes only its own site's rows
	KindHub   = totals.KindHub   // a provincial hub at the national hub: names its sites and communes
)

// MaxDimCodeLen is the longest dim value a device may give (wire.MaxDimCodeLen).
const MaxDimCodeLen = totals.MaxDimCodeLen

// ErrUnknownSite means no device was ever enrolled at the site.
var ErrUnknownSite = totals.ErrUnknownSite

// Totals sums every agent's counters over the query's period, grouped as asked: from
// the summaries when they can answer, else from the raw rows (store.Store.Totals).
func (h *Hub) Totals(ctx context.Context, q Query) (Report, error) { return h.totals.Sum(ctx, q) }

// Places lists the enrolled sites with their latest contact, ordered by province,
// commune and site.
func (h *Hub) Places(ctx context.Context) ([]Place, error) { return h.totals.Places(ctx) }

// Services builds the table of essential services for a period.
func (h *Hub) Services(ctx context.Context, p Period, f Filter) (ServiceTable, error) {
	return h.totals.Services(ctx, p, f)
}

// Fleet lists every enrolled agent, the ones never heard from included, with the
// configuration each runs.
func (h *Hub) Fleet(ctx context.Context, f Filter) ([]FleetAgent, error) {
	out, err := h.totals.Fleet(ctx, f)
	if err != nil {
		return nil, err
	}
	return out, h.addConfigStates(ctx, out)
}

// PeriodSums sums every metric of a period and place (web.Hub).
func (h *Hub) PeriodSums(ctx context.Context, p Period, f Filter) (totals.Figures, error) {
	return h.totals.PeriodSums(ctx, p, f)
}

// FillLegacy corrects, per group, the denominators of the figures older agents did not
// count (web.Hub).
func (h *Hub) FillLegacy(ctx context.Context, p Period, f Filter, by string, groups map[string]totals.Figures) error {
	return h.totals.FillLegacy(ctx, p, f, by, groups)
}

// SiteNames are the names of every site's codes (web.Hub).
func (h *Hub) SiteNames(ctx context.Context) (totals.CodeNames, error) {
	return h.totals.SiteNames(ctx)
}

// FigureValue is one line of the table of every figure (web.FigureValue); FigureReport
// the table's JSON (web.FigureReport).
type (
	FigureValue  = web.FigureValue
	FigureReport = web.FigureReport
)

// DefaultStaleAfter is how long a site may stay silent before the page flags it.
const DefaultStaleAfter = web.DefaultStaleAfter

// SetSite changes a site's name, province or commune (the fields c sets) and returns
// its record before and after.
func (h *Hub) SetSite(ctx context.Context, code string, c SiteChange) (before, after Site, err error) {
	return h.totals.SetSite(ctx, code, c)
}
