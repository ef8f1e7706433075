// Package web is the hub's face to the province's statisticians: the page (drill-down
// from province to counter, charts, silent sites, every figure, the services' table,
// the fleet and the rollouts), the reports as JSON, CSV and XLSX, and the fleet's
// download. It reads the hub only through the Hub interface, which the hub's exported
// methods satisfy; it is the only room that draws HTML, SVG charts and spreadsheets.
// The hub mounts its handlers behind the report token (sync/hub's Handler).
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/hub/totals"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// The shapes the face shows, from the rooms below.
type (
	Period       = store.Period
	Filter       = store.Filter
	Query        = store.Query
	Report       = store.Report
	Place        = totals.Place
	ServiceRow   = totals.ServiceRow
	ServiceTable = totals.ServiceTable
	FleetAgent   = totals.FleetAgent
	figures      = totals.Figures
)

// ParsePeriod reads "day" 2026-11-23, "week" 2026-W48 (ISO week) or "month" 2026-11.
func ParsePeriod(kind, at string) (Period, error) { return store.ParsePeriod(kind, at) }

// Hub is what the face reads of the hub.
type Hub interface {
	Totals(ctx context.Context, q Query) (Report, error)
	Places(ctx context.Context) ([]Place, error)
	Services(ctx context.Context, p Period, f Filter) (ServiceTable, error)
	Fleet(ctx context.Context, f Filter) ([]FleetAgent, error)
	// PeriodSums sums every metric of a period and place.
	PeriodSums(ctx context.Context, p Period, f Filter) (totals.Figures, error)
	// FillLegacy corrects the denominators older agents did not count (totals.FillLegacy).
	FillLegacy(ctx context.Context, p Period, f Filter, by string, groups map[string]totals.Figures) error
	// SiteNames are the names of every site's codes.
	SiteNames(ctx context.Context) (totals.CodeNames, error)
	UpstreamStatus(ctx context.Context) (st upload.Status, ok bool, err error)
	RolloutViews(ctx context.Context) ([]RolloutView, error)
}

// Options are the face's settings from the hub's.
type Options struct {
	Now        func() time.Time
	Location   *time.Location // the province's time zone
	Log        *slog.Logger
	ShowFleet  bool          // the fleet, the rollouts and the national tier's state are shown
	StaleAfter time.Duration // how long a site may stay silent before the page flags it
}

// Face serves the page and the reports.
type Face struct {
	Hub
	now   func() time.Time
	loc   *time.Location
	log   *slog.Logger
	fleet bool
	stale time.Duration
}

// New is the face of h.
func New(h Hub, o Options) *Face {
	return &Face{Hub: h, now: o.Now, loc: o.Location, log: o.Log, fleet: o.ShowFleet, stale: o.StaleAfter}
}

func (h *Face) today() time.Time { return wire.DayOf(h.now(), h.loc) }

// WriteJSON answers v as JSON with status.
func WriteJSON(log *slog.Logger, w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Debug("write response", "err", err)
	}
}

// RolloutView is one rollout as the fleet page shows it, in Vietnamese.
type RolloutView struct {
	ID                 int64
	Release, StateText string
	StateClass         string // ok, warn, off
	Stage, Scope       string
	Stages             []string
	Why                string
	Counts             struct{ Offered, Waiting, Trial, Committed, RolledBack, Refused, Failed int64 }
}
