package hub

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// Totals sums every agent's counters over the query's period, grouped as asked: from
// the summaries when they can answer, else from the raw rows (store.Store.Totals).
func (h *Hub) Totals(ctx context.Context, q Query) (Report, error) { return h.store.Totals(ctx, q) }

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
func (h *Hub) Services(ctx context.Context, p Period, f Filter) (ServiceTable, error) {
	return h.services(ctx, p, f, false)
}

// services is Services; raw reads the raw rows, not service_totals.
func (h *Hub) services(ctx context.Context, p Period, f Filter, raw bool) (ServiceTable, error) {
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
		if metric != MetricDossiersReceived && metric != MetricDossiersDigitized {
			continue
		}
		row := &other
		if i, ok := byCode[service]; ok {
			row = &t.Rows[i]
		}
		if metric == MetricDossiersReceived {
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
		r.Share = share(vocab.FigureDigitizedShare, figures{MetricDossiersDigitized: r.Digitized, MetricDossiersReceived: r.Received})
		t.Total.Received += r.Received
		t.Total.Online += r.Online
		t.Total.Digitized += r.Digitized
	}
	t.Total.Share = share(vocab.FigureDigitizedShare, figures{MetricDossiersDigitized: t.Total.Digitized, MetricDossiersReceived: t.Total.Received})
	return t, nil
}

// share is a percentage figure of the vocabulary, 0 when there is nothing to divide
// (the tables print a number in every cell).
func share(figure string, all figures) float64 {
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
func (h *Hub) Fleet(ctx context.Context, f Filter) ([]FleetAgent, error) {
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
	return out, h.addConfigStates(ctx, out)
}

// --- HTTP ---

func filterFromForm(r *http.Request) Filter {
	v := r.URL.Query()
	return Filter{Province: v.Get("province"), Commune: v.Get("commune"), Site: v.Get("site"),
		Counter: v.Get("counter"), Service: v.Get("service"), Metric: v.Get("metric")}
}

// periodFromForm reads period=day|week|month and at=...; the default is this month.
func (h *Hub) periodFromForm(r *http.Request) (Period, error) {
	kind := r.URL.Query().Get("period")
	at := r.URL.Query().Get("at")
	if choice := r.URL.Query().Get("p"); choice != "" {
		kind, at, _ = strings.Cut(choice, ":") // the page's list of periods: "month:2026-11"
	}
	now := h.now().In(h.loc)
	if kind == "" {
		kind = "month"
	}
	if at == "" {
		switch kind {
		case "day":
			at = now.Format(time.DateOnly)
		case "week":
			y, w := now.ISOWeek()
			at = fmt.Sprintf("%04d-W%02d", y, w)
		default:
			at = now.Format("2006-01")
		}
	}
	return ParsePeriod(kind, at)
}

func (h *Hub) badRequest(w http.ResponseWriter, err error) {
	h.writeJSON(w, http.StatusBadRequest, wire.ErrorResponse{Code: wire.CodeInvalid, Message: err.Error(), HubTime: h.now().UTC()})
}

func (h *Hub) serveReport(w http.ResponseWriter, r *http.Request) {
	p, err := h.periodFromForm(r)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	q := Query{Period: p, Filter: filterFromForm(r)}
	if by := r.URL.Query().Get("by"); by != "" {
		q.By = strings.Split(by, ",")
	}
	rep, err := h.Totals(r.Context(), q)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		header := append(append([]string{}, rep.By...), "value")
		records := make([][]string, 0, len(rep.Rows))
		for _, row := range rep.Rows {
			records = append(records, append(append([]string{}, row.Keys...), strconv.FormatInt(row.Value, 10)))
		}
		writeCSV(w, fmt.Sprintf("bao-cao-%s-%s.csv", p.Kind, p.Label), header, records)
		return
	}
	h.writeJSON(w, http.StatusOK, rep)
}

func (h *Hub) serveServiceReport(w http.ResponseWriter, r *http.Request) {
	p, err := h.periodFromForm(r)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	t, err := h.Services(r.Context(), p, filterFromForm(r))
	if err != nil {
		h.badRequest(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "xlsx":
		h.serveServicesXLSX(w, r, t)
		return
	case "csv":
		header := serviceHeader()
		var records [][]string
		for _, row := range append(t.Rows, t.Total) {
			no := ""
			if row.No > 0 {
				no = strconv.Itoa(row.No)
			}
			records = append(records, []string{no, row.Name, row.Level, strconv.FormatInt(row.Received, 10),
				strconv.FormatInt(row.Online, 10), strconv.FormatInt(row.Digitized, 10), vocab.Decimal(row.Share)})
		}
		writeCSV(w, fmt.Sprintf("dich-vu-thiet-yeu-%s-%s.csv", p.Kind, p.Label), header, records)
		return
	}
	h.writeJSON(w, http.StatusOK, t)
}

func (h *Hub) serveFleet(w http.ResponseWriter, r *http.Request) {
	if !h.fleet {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "Danh sách máy trạm chỉ xem được khi hub có mã truy cập báo cáo (--report-token).")
		return
	}
	fleet, err := h.Fleet(r.Context(), filterFromForm(r))
	if err != nil {
		h.writeJSON(w, http.StatusInternalServerError, wire.ErrorResponse{Code: wire.CodeInternal, Message: err.Error(), HubTime: h.now().UTC()})
		return
	}
	h.writeJSON(w, http.StatusOK, fleet)
}

// writeCSV writes UTF-8 with a byte-order mark so spreadsheet programs show the
// Vietnamese diacritics correctly.
func writeCSV(w http.ResponseWriter, filename string, header []string, records [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	setAttachment(w, filename, filename)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	for i, cell := range header {
		header[i] = csvCell(cell)
	}
	cw.Write(header)
	for _, rec := range records {
		for i, cell := range rec {
			rec[i] = csvCell(cell)
		}
	}
	cw.WriteAll(records)
}

// csvCell keeps a spreadsheet from reading a cell as a formula: text starting with
// =, +, -, @, a tab or a carriage return (a dimension value an agent sent) gets a
// leading apostrophe, which Excel and LibreOffice show as text. Numbers stay numbers.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}
