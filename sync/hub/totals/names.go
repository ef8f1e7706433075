package totals

import (
	"context"
	"fmt"
	"sort"
	"time"

	"motcua-agent/sync/wire"
)

// Names people read for the codes rows carry: an agent sends its site's catalogue
// (service, counter, station, lane and the site's own name) beside its counters, never
// as dims; the hub keeps the latest name per site, kind and code, shows names with the
// code as a small second label, and a provincial hub passes its sites' names on to the
// national hub. Nothing here is personal: they are the office's own words.

// StoreNames keeps a push's names, the latest winning. A device names its own site's
// codes; it may name another site's only when that site is not enrolled here (a
// provincial hub naming its communes' sites to the national hub), so no agent can
// rename what another enrolled site shows.
// MaxNamesPerSite bounds the names the hub keeps for one site (see StoreNames).
const MaxNamesPerSite = 4000

func (h *Totals) StoreNames(ctx context.Context, site string, names []wire.Name) error {
	if len(names) == 0 {
		return nil
	}
	// A site's names are its services, counters, stations, lanes and wards: a few
	// hundred. Past MaxNamesPerSite only names already held are updated, so a device
	// cannot grow the table by sending new codes push after push.
	held := map[string]int{}
	enrolled := map[string]bool{}
	for _, n := range names {
		if n.Site == "" || n.Site == site {
			continue
		}
		if _, seen := enrolled[n.Site]; seen {
			continue
		}
		var x int
		err := h.rdb.QueryRowContext(ctx, `SELECT 1 FROM sites WHERE site = ?`, n.Site).Scan(&x)
		enrolled[n.Site] = err == nil
	}
	now := h.now().UTC().Format(time.RFC3339)
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("names: begin: %w", err)
	}
	defer tx.Rollback()
	for _, n := range names {
		target := n.Site
		if target == "" {
			target = site
		}
		if target != site && enrolled[target] {
			continue
		}
		if _, ok := held[target]; !ok {
			var c int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM site_names WHERE site = ?`, target).Scan(&c); err != nil {
				return fmt.Errorf("names: count: %w", err)
			}
			held[target] = c
		}
		q := `INSERT INTO site_names(site, kind, code, name, updated_at) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(site, kind, code) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`
		args := []any{target, n.Kind, n.Code, n.Name, now}
		if held[target] >= MaxNamesPerSite {
			q, args = `UPDATE site_names SET name = ?, updated_at = ? WHERE site = ? AND kind = ? AND code = ?`,
				[]any{n.Name, now, target, n.Kind, n.Code}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("names: store: %w", err)
		}
		if held[target] < MaxNamesPerSite {
			if n, _ := res.RowsAffected(); n > 0 {
				held[target]++ // an update counts too: an upper bound is enough
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("names: commit: %w", err)
	}
	return nil
}

// CodeNames are names by site, kind and code.
type CodeNames map[string]map[string]map[string]string

// of is the name of a code at a site, "" when it has none.
func (c CodeNames) Of(site, kind, code string) string { return c[site][kind][code] }

// SiteNames reads every name the hub keeps.
func (h *Totals) SiteNames(ctx context.Context) (CodeNames, error) {
	rows, err := h.rdb.QueryContext(ctx, `SELECT site, kind, code, name FROM site_names`)
	if err != nil {
		return nil, fmt.Errorf("names query: %w", err)
	}
	defer rows.Close()
	out := CodeNames{}
	for rows.Next() {
		var site, kind, code, name string
		if err := rows.Scan(&site, &kind, &code, &name); err != nil {
			return nil, fmt.Errorf("names row: %w", err)
		}
		if out[site] == nil {
			out[site] = map[string]map[string]string{}
		}
		if out[site][kind] == nil {
			out[site][kind] = map[string]string{}
		}
		out[site][kind][code] = name
	}
	return out, rows.Err()
}

// Names are what a provincial hub tells the national hub: each site's name
// (from its enrollment, else the name its agent gave) and every code's name, at most a
// push's worth.
func (h *Totals) Names() []wire.Name {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names, err := h.SiteNames(ctx)
	if err != nil {
		h.log.Warn("upstream: read names", "err", err)
		return nil
	}
	places, err := h.Places(ctx)
	if err != nil {
		h.log.Warn("upstream: read places", "err", err)
		return nil
	}
	var out []wire.Name
	for _, p := range places {
		if p.Name != "" && !p.Reported {
			out = append(out, wire.Name{Site: p.Site, Kind: wire.NameSite, Code: p.Site, Name: p.Name})
		}
	}
	sites := make([]string, 0, len(names))
	for s := range names {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	for _, s := range sites {
		for _, kind := range []string{wire.NameService, wire.NameCounter, wire.NameStation, wire.NameLane, wire.NameWard} {
			codes := make([]string, 0, len(names[s][kind]))
			for c := range names[s][kind] {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				out = append(out, wire.Name{Site: s, Kind: kind, Code: c, Name: names[s][kind][c]})
			}
		}
	}
	return out
}
