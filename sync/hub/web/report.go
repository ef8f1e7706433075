package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// --- HTTP ---

func filterFromForm(r *http.Request) Filter {
	v := r.URL.Query()
	return Filter{Province: v.Get("province"), Commune: v.Get("commune"), Site: v.Get("site"),
		Counter: v.Get("counter"), Service: v.Get("service"), Metric: v.Get("metric")}
}

// periodFromForm reads period=day|week|month and at=...; the default is this month.
func (h *Face) periodFromForm(r *http.Request) (Period, error) {
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

func (h *Face) badRequest(w http.ResponseWriter, err error) {
	WriteJSON(h.log, w, http.StatusBadRequest, wire.ErrorResponse{Code: wire.CodeInvalid, Message: err.Error(), HubTime: h.now().UTC()})
}

func (h *Face) ServeReport(w http.ResponseWriter, r *http.Request) {
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
	WriteJSON(h.log, w, http.StatusOK, rep)
}

func (h *Face) ServeServiceReport(w http.ResponseWriter, r *http.Request) {
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
	WriteJSON(h.log, w, http.StatusOK, t)
}

func (h *Face) ServeFleet(w http.ResponseWriter, r *http.Request) {
	if !h.fleet {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "Danh sách máy trạm chỉ xem được khi hub có mã truy cập báo cáo (--report-token).")
		return
	}
	fleet, err := h.Fleet(r.Context(), filterFromForm(r))
	if err != nil {
		WriteJSON(h.log, w, http.StatusInternalServerError, wire.ErrorResponse{Code: wire.CodeInternal, Message: err.Error(), HubTime: h.now().UTC()})
		return
	}
	WriteJSON(h.log, w, http.StatusOK, fleet)
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
