package totals

import (
	"context"
	"fmt"
	"time"

	"motcua-agent/sync/wire"
)

// Device kinds recorded at enrollment.
const (
	KindAgent = "agent" // a counter PC: writes only its own site's rows
	KindHub   = "hub"   // a provincial hub at the national hub: names its sites and communes
)

// Site describes where a device stands in the two-tier administration.
type Site struct {
	Code     string
	Name     string
	Province string
	Commune  string
}

// Place is one site the hub knows, with when its devices last reached the hub.
type Place struct {
	Site, Name, Province, Commune string
	Devices                       int        // enrolled devices not revoked
	LastContact                   *time.Time // the latest of its devices; nil if none ever pushed
	// Reported: a site a provincial hub's rows name (at a national hub), not enrolled
	// here. It has no devices of its own, so it is never flagged as silent: its
	// province's hub is (in the fleet).
	Reported bool
}

// Places lists the enrolled sites with their latest contact, ordered by province,
// commune and site.
func (h *Totals) Places(ctx context.Context) ([]Place, error) {
	rows, err := h.rdb.QueryContext(ctx, `SELECT s.site, s.name, s.province, s.commune, d.revoked_at IS NULL, f.last_contact
		FROM sites s JOIN devices d ON d.site = s.site LEFT JOIN fleet f ON f.device = d.device
		ORDER BY s.province, s.commune, s.site`)
	if err != nil {
		return nil, fmt.Errorf("places query: %w", err)
	}
	defer rows.Close()
	var out []Place
	for rows.Next() {
		var p Place
		var live bool
		var contact *string
		if err := rows.Scan(&p.Site, &p.Name, &p.Province, &p.Commune, &live, &contact); err != nil {
			return nil, fmt.Errorf("places row: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Site != p.Site {
			out = append(out, p)
		}
		cur := &out[len(out)-1]
		if live {
			cur.Devices++
		}
		if contact != nil {
			if t, err := time.Parse(time.RFC3339Nano, *contact); err == nil && (cur.LastContact == nil || t.After(*cur.LastContact)) {
				cur.LastContact = &t
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("places rows: %w", err)
	}
	if out, err = h.addReportedPlaces(ctx, out); err != nil {
		return nil, err
	}
	// A site enrolled without a name, or one a provincial hub reports, is called what
	// its own agent (or hub) calls it.
	names, err := h.SiteNames(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Name == "" {
			out[i].Name = names.Of(out[i].Site, wire.NameSite, out[i].Site)
		}
	}
	return out, nil
}

// addReportedPlaces adds, after the enrolled sites, the sites that provincial hubs'
// rows name, under the province the provincial hub was enrolled for, so a national
// hub's lists offer communes and sites too.
func (h *Totals) addReportedPlaces(ctx context.Context, out []Place) ([]Place, error) {
	rows, err := h.rdb.QueryContext(ctx, `SELECT r.site, r.commune, coalesce(s.province, '')
		FROM reported_places r JOIN devices d ON d.device = r.device LEFT JOIN sites s ON s.site = d.site
		WHERE d.revoked_at IS NULL ORDER BY 3, 2, 1`)
	if err != nil {
		return nil, fmt.Errorf("reported places query: %w", err)
	}
	defer rows.Close()
	enrolled := make(map[string]bool, len(out))
	for _, p := range out {
		enrolled[p.Site] = true
	}
	for rows.Next() {
		p := Place{Reported: true}
		if err := rows.Scan(&p.Site, &p.Commune, &p.Province); err != nil {
			return nil, fmt.Errorf("reported places row: %w", err)
		}
		if !enrolled[p.Site] {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}
