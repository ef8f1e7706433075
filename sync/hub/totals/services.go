package totals

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// Figures is one group's metrics by name.
type Figures map[string]int64

// AvgWait is the vocabulary's average wait of the group ("–" when none), the drill-down's
// last column.
func (f Figures) AvgWait() string { return vocab.LookupFigure(vocab.FigureAvgWait).Say(f) }

// FleetConfig is what the fleet shows of a device's configuration.
type FleetConfig struct {
	Version   string `json:"version,omitempty"`   // what it runs ("" its own file alone)
	Source    string `json:"source,omitempty"`    // hub, or local: a technician's edit holds the hub's back
	Published string `json:"published,omitempty"` // what its site should run
	Refused   string `json:"refused,omitempty"`
	Reason    string `json:"reason,omitempty"` // English, as the agent said it
}

// ServiceRow is one line of the province's table of essential services.
type ServiceRow struct {
	No        int     `json:"no"`
	Name      string  `json:"name"`
	Level     string  `json:"level"`
	Received  int64   `json:"received"`
	Online    int64   `json:"online"`
	Digitized int64   `json:"digitized"`
	Share     float64 `json:"digitized_percent"` // digitized / received, in percent; 0 when nothing was received
}

// ServiceTable is the monthly (or weekly) table: one row per essential service, then
// one row for services outside the catalogue, then the total.
type ServiceTable struct {
	Period Period       `json:"period"`
	Filter Filter       `json:"filter"`
	Rows   []ServiceRow `json:"rows"`
	Total  ServiceRow   `json:"total"`
}

// Services builds the table of essential services for a period.
func (h *Totals) Services(ctx context.Context, p Period, f Filter) (ServiceTable, error) {
	return h.services(ctx, p, f, false)
}

// RawServices is Services from the raw rows, not service_totals (the summaries' tests
// compare the two).
func (h *Totals) RawServices(ctx context.Context, p Period, f Filter) (ServiceTable, error) {
	return h.services(ctx, p, f, true)
}

// services is Services; raw reads the raw rows, not service_totals.
func (h *Totals) services(ctx context.Context, p Period, f Filter, raw bool) (ServiceTable, error) {
	f.Metric, f.Service = "", ""
	rep := Report{}
	ok := false
	var err error
	if !raw {
		if rep.Rows, ok, err = h.store.ServiceTotals(ctx, p, f); err != nil {
			return ServiceTable{}, err
		}
	}
	if !ok {
		if rep, err = h.store.RawTotals(ctx, Query{Period: p, By: []string{"service", "metric", "dim.channel"}, Filter: f}); err != nil {
			return ServiceTable{}, err
		}
	}
	t := ServiceTable{Period: p, Filter: f, Rows: make([]ServiceRow, len(h.catalog))}
	byCode := map[string]int{}
	for i, s := range h.catalog {
		t.Rows[i] = ServiceRow{No: s.No, Name: s.Name, Level: s.Level}
		for _, c := range s.Codes {
			byCode[c] = i
		}
	}
	other := ServiceRow{Name: "Thủ tục khác"}
	for _, r := range rep.Rows {
		service, metric, channel := r.Keys[0], r.Keys[1], r.Keys[2]
		if metric != store.MetricDossiersReceived && metric != store.MetricDossiersDigitized {
			continue
		}
		row := &other
		if i, ok := byCode[service]; ok {
			row = &t.Rows[i]
		}
		if metric == store.MetricDossiersReceived {
			row.Received += r.Value
			if channel == "online" {
				row.Online += r.Value
			}
		} else {
			row.Digitized += r.Value
		}
	}
	if other.Received > 0 || other.Digitized > 0 {
		t.Rows = append(t.Rows, other)
	}
	t.Total.Name = "Tổng cộng"
	for i := range t.Rows {
		r := &t.Rows[i]
		r.Share = Share(vocab.FigureDigitizedShare, Figures{store.MetricDossiersDigitized: r.Digitized, store.MetricDossiersReceived: r.Received})
		t.Total.Received += r.Received
		t.Total.Online += r.Online
		t.Total.Digitized += r.Digitized
	}
	t.Total.Share = Share(vocab.FigureDigitizedShare, Figures{store.MetricDossiersDigitized: t.Total.Digitized, store.MetricDossiersReceived: t.Total.Received})
	return t, nil
}

// Share is a percentage figure of the vocabulary, 0 when there is nothing to divide
// (the tables print a number in every cell).
func Share(figure string, all Figures) float64 {
	v, _ := vocab.LookupFigure(figure).Compute(all)
	return v
}

// FleetAgent is one enrolled agent as the fleet view shows it.
type FleetAgent struct {
	Device        string             `json:"device"`
	Site          string             `json:"site"`
	SiteName      string             `json:"site_name"`
	Province      string             `json:"province"`
	Commune       string             `json:"commune"`
	Revoked       bool               `json:"revoked"`
	Version       string             `json:"version"`
	LastContact   *time.Time         `json:"last_contact"`
	ClockOffsetMS int64              `json:"clock_offset_ms"`
	Backlog       int64              `json:"backlog"`
	Watermark     int64              `json:"watermark"`
	Pushes        int64              `json:"pushes"`
	OverBudget    int64              `json:"over_budget"` // pushes refused past a row budget
	Devices       []wire.DeviceState `json:"devices"`
	Config        *FleetConfig       `json:"config,omitempty"` // configuration from the hub (configs.go)
}

// Fleet lists every enrolled agent, the ones never heard from included.
func (h *Totals) Fleet(ctx context.Context, f Filter) ([]FleetAgent, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"s.province", f.Province}, {"s.commune", f.Commune}, {"d.site", f.Site}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := h.rdb.QueryContext(ctx, `SELECT d.device, d.site, coalesce(s.name, ''), coalesce(s.province, ''), coalesce(s.commune, ''),
			d.revoked_at IS NOT NULL, coalesce(f.version, ''), f.last_contact, coalesce(f.clock_offset_ms, 0),
			coalesce(f.backlog, 0), coalesce(f.watermark, 0), coalesce(f.pushes, 0), coalesce(f.devices, '[]'),
			coalesce(f.over_budget, 0)
		FROM devices d LEFT JOIN sites s ON s.site = d.site LEFT JOIN fleet f ON f.device = d.device`+cond+`
		ORDER BY s.province, s.commune, d.site, d.device`, args...)
	if err != nil {
		return nil, fmt.Errorf("fleet query: %w", err)
	}
	defer rows.Close()
	out := []FleetAgent{}
	for rows.Next() {
		var a FleetAgent
		var contact *string
		var devices string
		if err := rows.Scan(&a.Device, &a.Site, &a.SiteName, &a.Province, &a.Commune, &a.Revoked, &a.Version, &contact,
			&a.ClockOffsetMS, &a.Backlog, &a.Watermark, &a.Pushes, &devices, &a.OverBudget); err != nil {
			return nil, fmt.Errorf("fleet row: %w", err)
		}
		if contact != nil {
			if t, err := time.Parse(time.RFC3339Nano, *contact); err == nil {
				a.LastContact = &t
			}
		}
		if err := json.Unmarshal([]byte(devices), &a.Devices); err != nil {
			a.Devices = nil
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// PeriodSums sums every metric of a period and place.
func (h *Totals) PeriodSums(ctx context.Context, p Period, f Filter) (Figures, error) {
	f.Metric, f.Service = "", ""
	rep, err := h.Sum(ctx, Query{Period: p, By: []string{"metric"}, Filter: f})
	if err != nil {
		return nil, err
	}
	all := Figures{}
	for _, r := range rep.Rows {
		all[r.Keys[0]] += r.Value
	}
	if err := h.FillLegacy(ctx, p, f, "", map[string]Figures{"": all}); err != nil {
		return nil, err
	}
	return all, nil
}
