package hub

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// Metric names the service table reads. Dimensions: "service" (the service code) and,
// on dossiers.received, "channel" ("online" for dossiers that came in online).
const (
	MetricDossiersReceived  = vocab.DossiersReceived
	MetricDossiersDigitized = vocab.DossiersDigitized
)

// Period is an inclusive range of days.
type Period struct {
	Kind  string `json:"kind"` // day, week, month
	Label string `json:"label"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ParsePeriod reads "day" 2026-11-23, "week" 2026-W48 (ISO week) or "month" 2026-11.
func ParsePeriod(kind, at string) (Period, error) {
	p := Period{Kind: kind, Label: at}
	switch kind {
	case "day":
		d, err := wire.ParseDay(at)
		if err != nil {
			return p, err
		}
		p.From, p.To = d.Format(time.DateOnly), d.Format(time.DateOnly)
	case "week":
		var year, week int
		if _, err := fmt.Sscanf(at, "%4d-W%2d", &year, &week); err != nil || week < 1 || week > 53 || len(at) != 8 {
			return p, fmt.Errorf("week %q is not YYYY-Www", at)
		}
		// ISO week 1 holds January 4th; weeks start on Monday.
		jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, time.UTC)
		monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)).AddDate(0, 0, 7*(week-1))
		if y, w := monday.ISOWeek(); y != year || w != week {
			return p, fmt.Errorf("week %q does not exist", at)
		}
		p.From, p.To = monday.Format(time.DateOnly), monday.AddDate(0, 0, 6).Format(time.DateOnly)
	case "month":
		m, err := time.Parse("2006-01", at)
		if err != nil {
			return p, fmt.Errorf("month %q is not YYYY-MM", at)
		}
		p.From, p.To = m.Format(time.DateOnly), m.AddDate(0, 1, -1).Format(time.DateOnly)
	default:
		return p, fmt.Errorf("period %q must be day, week or month", kind)
	}
	return p, nil
}

// Filter narrows a report to part of the province.
type Filter struct {
	Province string `json:"province,omitempty"`
	Commune  string `json:"commune,omitempty"`
	Site     string `json:"site,omitempty"`
	Counter  string `json:"counter,omitempty"`
	Service  string `json:"service,omitempty"`
	Metric   string `json:"metric,omitempty"`
}

// Query is a report request: totals over every agent for a period, grouped by keys.
type Query struct {
	Period Period
	By     []string // province, commune, site, device, counter, service, day, metric, dims (all of them, canonical), or dim.KEY
	Filter Filter
}

// Row is one group's total.
type Row struct {
	Keys  []string `json:"keys"`
	Value int64    `json:"value"`
}

// Report is the answer to a Query.
type Report struct {
	Period Period   `json:"period"`
	By     []string `json:"by"`
	Filter Filter   `json:"filter"`
	Rows   []Row    `json:"rows"`
}

func groupExpr(key string) (string, error) {
	switch key {
	case "province":
		return "coalesce(s.province, '')", nil
	case "commune":
		return communeExpr(), nil
	case "site":
		return siteExpr(), nil
	case "device":
		return "c.device", nil
	case "day":
		return "c.day", nil
	case "metric":
		return "c.metric", nil
	case "dims":
		return "c.dims", nil
	case "counter", "service":
		return dimExpr(key), nil
	}
	if k, ok := strings.CutPrefix(key, "dim."); ok && wire.ValidName(k) {
		return dimExpr(k), nil
	}
	return "", fmt.Errorf("cannot group by %q (use province, commune, site, device, counter, service, day, metric, dims or dim.KEY)", key)
}

// dimExpr reads one dimension; k is a ValidName, so it cannot break out of the quotes.
func dimExpr(k string) string {
	return `coalesce(json_extract(c.dims, '$."` + k + `"'), '')`
}

// communeExpr and siteExpr place a row in the administration. At a national hub the
// "device" is a provincial hub (its site is the province) and each of its rows names the
// site and commune it totals in the reserved dims; at a provincial hub the dims have
// neither and the enrolled site's record answers.
func communeExpr() string {
	return "coalesce(nullif(" + dimExpr(DimCommune) + ", ''), s.commune, '')"
}

func siteExpr() string {
	return "coalesce(nullif(" + dimExpr(DimSite) + ", ''), d.site)"
}

func filterSQL(f Filter) (string, []any) {
	var where []string
	var args []any
	add := func(expr, v string) {
		if v != "" {
			where = append(where, expr+" = ?")
			args = append(args, v)
		}
	}
	add("s.province", f.Province)
	add(communeExpr(), f.Commune)
	add(siteExpr(), f.Site)
	add(dimExpr("counter"), f.Counter)
	add(dimExpr("service"), f.Service)
	add("c.metric", f.Metric)
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

// Totals sums every agent's counters over the query's period, grouped as asked: from
// the summaries when they can answer (summary.go), else from the raw rows.
func (h *Hub) Totals(ctx context.Context, q Query) (Report, error) { return h.totals(ctx, q, false) }

// totals is Totals; raw reads the raw rows whatever the query (the summaries' tests
// compare the two).
func (h *Hub) totals(ctx context.Context, q Query, raw bool) (Report, error) {
	if len(q.By) == 0 {
		q.By = []string{"metric"}
	}
	if len(q.By) > 6 {
		return Report{}, fmt.Errorf("group by at most 6 keys")
	}
	exprs := make([]string, len(q.By))
	for i, k := range q.By {
		e, err := groupExpr(k)
		if err != nil {
			return Report{}, err
		}
		exprs[i] = e
	}
	query, args, ok := summaryQuery(q, slices.Clone(exprs))
	if !ok || raw {
		// By counter, service, device or dims: the raw rows.
		where, fargs := filterSQL(q.Filter)
		keys := strings.Join(exprs, ", ")
		query = `SELECT ` + keys + `, sum(c.value) FROM device_counters c
		JOIN devices d ON d.device = c.device
		LEFT JOIN sites s ON s.site = d.site
		WHERE c.day >= ? AND c.day <= ?` + where + `
		GROUP BY ` + keys + ` ORDER BY ` + keys
		args = append([]any{q.Period.From, q.Period.To}, fargs...)
	}
	rows, err := h.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return Report{}, fmt.Errorf("report query: %w", err)
	}
	defer rows.Close()
	rep := Report{Period: q.Period, By: q.By, Filter: q.Filter, Rows: []Row{}}
	for rows.Next() {
		r := Row{Keys: make([]string, len(q.By))}
		dest := make([]any, 0, len(q.By)+1)
		for i := range r.Keys {
			dest = append(dest, &r.Keys[i])
		}
		dest = append(dest, &r.Value)
		if err := rows.Scan(dest...); err != nil {
			return Report{}, fmt.Errorf("report row: %w", err)
		}
		rep.Rows = append(rep.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("report rows: %w", err)
	}
	return rep, nil
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
		if rep.Rows, ok, err = h.serviceTotals(ctx, p, f); err != nil {
			return ServiceTable{}, err
		}
	}
	if !ok {
		if rep, err = h.totals(ctx, Query{Period: p, By: []string{"service", "metric", "dim.channel"}, Filter: f}, true); err != nil {
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
