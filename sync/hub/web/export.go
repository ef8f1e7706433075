package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/xlsx"
	"motcua-agent/sync/hub/totals"
)

// The monthly report as the province files it: the table of essential services under
// its title, period and scope, as XLSX; the CSV (in report.go) is the same table alone,
// for programs.

// xlsxMIME is the registered type of an Office Open XML spreadsheet.
const xlsxMIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// setAttachment names a download twice: an ASCII name every browser takes, and the
// Vietnamese name (RFC 5987 / RFC 6266 filename*) the ones that can read it prefer.
func setAttachment(w http.ResponseWriter, ascii, vietnamese string) {
	var b strings.Builder
	for _, c := range []byte(vietnamese) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	safe := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, ascii)
	w.Header().Set("Content-Disposition", `attachment; filename="`+safe+`"; filename*=UTF-8''`+b.String())
}

// scopeVI says which places a report covers: "Nghệ An › Phường Vinh Hưng › VH-1".
func (h *Face) scopeVI(ctx context.Context, f Filter) string {
	var parts []string
	for _, v := range []string{f.Province, f.Commune} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	if f.Site != "" {
		name := ""
		if places, err := h.Places(ctx); err == nil {
			for _, p := range places {
				if p.Site == f.Site {
					name = p.Name
				}
			}
		}
		parts = append(parts, siteLabel(f.Site, name))
	}
	if f.Counter != "" {
		parts = append(parts, "Quầy "+f.Counter)
	}
	if len(parts) == 0 {
		return "tất cả các điểm gửi số liệu về máy chủ"
	}
	return strings.Join(parts, " › ")
}

// serviceSheet lays out the monthly table in the report's shape: title, period and
// scope, the header, one row per service, the total, then the clinics' look-ups.
func serviceSheet(t ServiceTable, scope string, bhyt bhytSummary) xlsx.Sheet {
	s := xlsx.Sheet{Name: "Dịch vụ công thiết yếu", Widths: []float64{6, 70, 9, 14, 14, 14, 12}}
	s.Rows = append(s.Rows,
		[]xlsx.Cell{xlsx.Text("BÁO CÁO KẾT QUẢ TIẾP NHẬN, SỐ HÓA HỒ SƠ DỊCH VỤ CÔNG THIẾT YẾU", xlsx.Title)},
		[]xlsx.Cell{xlsx.Text("Kỳ báo cáo: "+periodVI(t.Period)+" (từ "+vocab.Day(t.Period.From)+" đến "+vocab.Day(t.Period.To)+")", xlsx.Normal)},
		[]xlsx.Cell{xlsx.Text("Phạm vi: "+scope, xlsx.Normal)},
		nil,
	)
	var header []xlsx.Cell
	for _, hd := range serviceHeader() {
		header = append(header, xlsx.Text(hd, xlsx.Bold))
	}
	s.Rows = append(s.Rows, header)
	for i, r := range append(append([]ServiceRow{}, t.Rows...), t.Total) {
		st, name := xlsx.Normal, xlsx.Wrap
		if i == len(t.Rows) {
			st, name = xlsx.Bold, xlsx.Bold
		}
		no := xlsx.Cell{Ignore: true}
		if r.No > 0 {
			no = xlsx.Num(float64(r.No), st)
		}
		level := xlsx.Cell{Ignore: true}
		if r.Level != "" {
			level = xlsx.Text(r.Level, st)
		}
		s.Rows = append(s.Rows, []xlsx.Cell{no, xlsx.Text(r.Name, name), level,
			xlsx.Num(float64(r.Received), st), xlsx.Num(float64(r.Online), st), xlsx.Num(float64(r.Digitized), st),
			xlsx.Num(r.Share, xlsx.Percent)})
	}
	s.Rows = append(s.Rows, nil,
		[]xlsx.Cell{{Ignore: true}, xlsx.Text("Tra cứu thẻ bảo hiểm y tế bằng căn cước tại nơi khám chữa bệnh", xlsx.Bold)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(metricName(vocab.BHYTLookups), xlsx.Normal), {Ignore: true}, xlsx.Num(float64(bhyt.Lookups), xlsx.Normal)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(metricName(vocab.BHYTLookupsOK), xlsx.Normal), {Ignore: true}, xlsx.Num(float64(bhyt.OK), xlsx.Normal)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(metricName(vocab.BHYTLookupFailures), xlsx.Normal), {Ignore: true}, xlsx.Num(float64(bhyt.Failures), xlsx.Normal)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text("Tỷ lệ tra cứu thành công (%)", xlsx.Normal), {Ignore: true}, xlsx.Num(bhyt.Share, xlsx.Percent)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(metricName(vocab.BHYTLookupsOtherAgency), xlsx.Normal), {Ignore: true}, xlsx.Num(float64(bhyt.OtherAgency), xlsx.Normal)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(metricName(vocab.BHYTLookupsOtherAgencyOK), xlsx.Normal), {Ignore: true}, xlsx.Num(float64(bhyt.OtherAgencyOK), xlsx.Normal)},
		[]xlsx.Cell{{Ignore: true}, xlsx.Text(bhyt.Rule, xlsx.Normal)},
	)
	return s
}

// serviceHeader is the header of the table of essential services, in the CSV and XLSX.
func serviceHeader() []string {
	return []string{"STT", "Tên thủ tục hành chính", "Mức độ", "Số hồ sơ tiếp nhận", "Trong đó trực tuyến", "Số hồ sơ được số hóa", "Tỷ lệ số hóa (%)"}
}

// bhytOf is the clinics' look-ups among a period's sums.
func bhytOf(all figures) bhytSummary {
	b := bhytSummary{Lookups: all[vocab.BHYTLookups], OK: all[vocab.BHYTLookupsOK], Failures: all[vocab.BHYTLookupFailures],
		Share: totals.Share(vocab.FigureBHYTShare, all), OtherAgency: all[vocab.BHYTLookupsOtherAgency], OtherAgencyOK: all[vocab.BHYTLookupsOtherAgencyOK]}
	b.Rule = bhytRule(b.OtherAgency, b.OtherAgencyOK)
	return b
}

// bhytRule states which success rule the period's look-ups were counted by: whether
// the answers 001/002 were counted as successes (a province's choice, set on each
// agent as clinic.other_agency_success), as the counts show it.
func bhytRule(other, counted int64) string {
	const strict = "thành công là mã 000, 003, 004"
	switch {
	case other == 0:
		return "Quy tắc: " + strict + "; trong kỳ không có lượt nào ra mã 001, 002."
	case counted == 0:
		return "Quy tắc: " + strict + "; mã 001, 002 (thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý) không được tính là thành công."
	case counted == other:
		return "Quy tắc: " + strict + " và cả mã 001, 002 (thẻ do BHXH Bộ Quốc phòng, Bộ Công an quản lý)."
	}
	return fmt.Sprintf("Các điểm không cùng một quy tắc: %s lượt mã 001, 002 được tính là thành công, %s lượt không.",
		vocab.Number(counted), vocab.Number(other-counted))
}

// FigureReport is every figure of a period and place: the page's table "Tất cả chỉ số
// trong kỳ" as a download.
type FigureReport struct {
	Period  Period        `json:"period"`
	Filter  Filter        `json:"filter"`
	Scope   string        `json:"scope"`
	Figures []FigureValue `json:"figures"`
}

// ServeFigureReport sends every figure of a period and place as JSON, CSV (decimal
// comma, as every other figure the province reads) or XLSX (numbers as numbers).
func (h *Face) ServeFigureReport(w http.ResponseWriter, r *http.Request) {
	p, err := h.periodFromForm(r)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	f := filterFromForm(r)
	f.Metric, f.Service = "", ""
	all, err := h.PeriodSums(r.Context(), p, f)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	rep := FigureReport{Period: p, Filter: f, Scope: h.scopeVI(r.Context(), f), Figures: figureTable(all)}
	name := fmt.Sprintf("chi-so-%s-%s", p.Kind, p.Label)
	unitVI := map[string]string{"count": "lượt", "seconds": "giây", "percent": "%"}
	switch r.URL.Query().Get("format") {
	case "csv":
		var records [][]string
		for _, fv := range rep.Figures {
			v := ""
			if fv.Value != nil {
				v = fmt.Sprint(int64(*fv.Value)) // a metric's sum is whole
				if fv.Computed {
					v = vocab.Decimal(*fv.Value)
				}
			}
			records = append(records, []string{fv.Label, v, unitVI[fv.Unit], fv.Text, fv.Name})
		}
		writeCSV(w, name+".csv", []string{"Chỉ số", "Giá trị", "Đơn vị", "Cách đọc", "Mã chỉ số"}, records)
	case "xlsx":
		s := xlsx.Sheet{Name: "Chỉ số", Widths: []float64{60, 14, 8, 24}}
		s.Rows = append(s.Rows,
			[]xlsx.Cell{xlsx.Text("CÁC CHỈ SỐ TRONG KỲ", xlsx.Title)},
			[]xlsx.Cell{xlsx.Text("Kỳ báo cáo: "+periodVI(p)+" (từ "+vocab.Day(p.From)+" đến "+vocab.Day(p.To)+")", xlsx.Normal)},
			[]xlsx.Cell{xlsx.Text("Phạm vi: "+rep.Scope, xlsx.Normal)},
			nil,
			[]xlsx.Cell{xlsx.Text("Chỉ số", xlsx.Bold), xlsx.Text("Giá trị", xlsx.Bold), xlsx.Text("Đơn vị", xlsx.Bold), xlsx.Text("Cách đọc", xlsx.Bold)})
		for _, fv := range rep.Figures {
			v := xlsx.Cell{Ignore: true}
			if fv.Value != nil {
				st := xlsx.Normal
				if fv.Computed {
					st = xlsx.Percent // one decimal
				}
				v = xlsx.Num(*fv.Value, st)
			}
			s.Rows = append(s.Rows, []xlsx.Cell{xlsx.Text(fv.Label, xlsx.Wrap), v, xlsx.Text(unitVI[fv.Unit], xlsx.Normal), xlsx.Text(fv.Text, xlsx.Normal)})
		}
		var buf bytes.Buffer
		if err := xlsx.Write(&buf, s); err != nil {
			h.badRequest(w, err)
			return
		}
		w.Header().Set("Content-Type", xlsxMIME)
		setAttachment(w, name+".xlsx", "Chỉ số "+strings.ReplaceAll(periodVI(p), "/", "-")+".xlsx")
		w.Write(buf.Bytes())
	default:
		WriteJSON(h.log, w, http.StatusOK, rep)
	}
}

// serveServicesXLSX writes the monthly table as a workbook.
func (h *Face) serveServicesXLSX(w http.ResponseWriter, r *http.Request, t ServiceTable) {
	all, err := h.PeriodSums(r.Context(), t.Period, t.Filter)
	if err != nil {
		h.badRequest(w, err)
		return
	}
	b := bhytOf(all)
	var buf bytes.Buffer
	if err := xlsx.Write(&buf, serviceSheet(t, h.scopeVI(r.Context(), t.Filter), b)); err != nil {
		h.badRequest(w, err)
		return
	}
	w.Header().Set("Content-Type", xlsxMIME)
	setAttachment(w, fmt.Sprintf("dich-vu-thiet-yeu-%s-%s.xlsx", t.Period.Kind, t.Period.Label),
		fmt.Sprintf("Dịch vụ công thiết yếu %s.xlsx", strings.ReplaceAll(periodVI(t.Period), "/", "-")))
	w.Write(buf.Bytes())
}
