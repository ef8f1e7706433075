package hub

import (
	"archive/zip"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/testkit"
	"motcua-agent/internal/xlsx"
	"motcua-agent/sync/wire"
)

// statsNow is the test hub's "now": Monday 23/11/2026, 16:00 in Vietnam.
var statsNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// seedStats enrolls five sites in two provinces and pushes November's counters:
//
//	Nghệ An / Phường Vinh Hưng: VH-1 (named; counters Q1 and Q2), VH-2 (no name)
//	Nghệ An / Xã Cửa Lò:        CL-1, last heard four days ago
//	Nghệ An / Xã Quỳnh Lưu:     QL-1, never pushed
//	Hà Tĩnh / Phường Thành Sen: HT-1
func seedStats(t *testing.T, tune ...func(*Options)) (*testHub, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock(statsNow)
	th := startHub(t, append([]func(*Options){func(o *Options) { o.Now = clock.Now }}, tune...)...)
	ctx := context.Background()
	push := func(site Site, device string, at time.Time, snaps ...wire.Snapshot) {
		t.Helper()
		secret, err := th.Enroll(ctx, site, device)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) == 0 {
			return
		}
		key, _ := wire.ParseSecret(secret)
		clock.Set(at)
		defer clock.Set(statsNow)
		body, err := json.Marshal(wire.PushRequest{Schema: wire.SchemaVersion, Site: site.Code, Device: device, Snapshots: snaps,
			Heartbeat: &wire.Heartbeat{Version: "1.4.0", Clock: at.Add(-21 * time.Second), Backlog: 0,
				Devices: []wire.DeviceState{{Name: "printer", Kind: "escpos", State: "ok"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if status, er, _ := th.do(t, signedRequest{device: device, secret: key, body: body, at: at}); status != 200 {
			t.Fatalf("push %s: %d %+v", device, status, er)
		}
	}
	na, ht := "Nghệ An", "Hà Tĩnh"
	push(Site{Code: "VH-1", Name: "Trung tâm phục vụ hành chính công phường Vinh Hưng", Province: na, Commune: "Phường Vinh Hưng"}, "vh-pc1",
		statsNow.Add(-21*time.Second),
		snap("2026-11-02", vocab.CheckinsPeople, 40, 1, "kind", "chip"),
		snap("2026-11-20", vocab.CheckinsPeople, 10, 2, "kind", "chip"),
		snap("2026-11-02", vocab.DossiersReceived, 30, 3, "service", "13", "counter", "Q1"),
		snap("2026-11-02", vocab.DossiersDigitized, 24, 4, "service", "13", "counter", "Q1"),
		snap("2026-11-20", vocab.TicketsIssued, 60, 5, "service", "13"),
		snap("2026-11-20", vocab.TicketsServed, 35, 6, "service", "13", "counter", "Q1"),
		snap("2026-11-20", vocab.TicketsServed, 20, 7, "service", "13", "counter", "Q2"),
		snap("2026-11-20", vocab.TicketsNoShow, 5, 8, "service", "13", "counter", "Q2"),
		snap("2026-11-20", vocab.TicketsWaitSeconds, 36000, 9, "service", "13"),
		snap("2026-11-20", vocab.BHYTLookups, 8, 10, "station", "1", "source", "qr"),
		snap("2026-11-20", vocab.BHYTLookupsOK, 7, 11, "station", "1"),
		snap("2026-11-20", vocab.BHYTLookupFailures, 1, 12, "station", "1", "reason", "timeout"),
		snap("2026-10-20", vocab.TicketsIssued, 44, 13, "service", "13"), // October: in the charts, not in November's totals
	)
	push(Site{Code: "VH-2", Province: na, Commune: "Phường Vinh Hưng"}, "vh-pc2", statsNow.Add(-5*time.Minute),
		snap("2026-11-21", vocab.CheckinsPeople, 15, 1, "kind", "cccd_qr"),
		snap("2026-11-21", vocab.TicketsIssued, 25, 2, "service", "3"),
		snap("2026-11-21", vocab.TicketsServed, 25, 3, "service", "3", "counter", "Q1"),
		snap("2026-11-21", vocab.TicketsWaitSeconds, 7500, 4, "service", "3"),
		snap("2026-11-21", vocab.DossiersReceived, 5, 5, "service", "3", "channel", "online", "counter", "Q1"),
	)
	push(Site{Code: "CL-1", Name: "Bộ phận một cửa xã Cửa Lò", Province: na, Commune: "Xã Cửa Lò"}, "cl-pc1", statsNow.Add(-4*24*time.Hour),
		snap("2026-11-10", vocab.CheckinsPeople, 7, 1, "kind", "chip"),
		snap("2026-11-10", vocab.TicketsIssued, 9, 2, "service", "13"),
		snap("2026-11-12", vocab.GateEntries, 120, 3, "lane", "1", "hour", "09"),
	)
	push(Site{Code: "QL-1", Name: "Bộ phận một cửa xã Quỳnh Lưu", Province: na, Commune: "Xã Quỳnh Lưu"}, "ql-pc1", time.Time{})
	push(Site{Code: "HT-1", Name: "Trung tâm hành chính công phường Thành Sen", Province: ht, Commune: "Phường Thành Sen"}, "ht-pc1",
		statsNow.Add(-time.Hour),
		snap("2026-11-16", vocab.CheckinsPeople, 100, 1, "kind", "chip"),
		snap("2026-11-16", vocab.TicketsIssued, 200, 2, "service", "13"),
		snap("2026-11-16", vocab.DossiersReceived, 40, 3, "service", "13", "counter", "Q1"),
		snap("2026-11-16", vocab.DossiersDigitized, 40, 4, "service", "13", "counter", "Q1"),
	)
	return th, clock
}

// getPage fetches the page for a query and returns its HTML.
func getPage(t *testing.T, th *testHub, query string) string {
	t.Helper()
	resp, err := http.Get(th.srv.URL + "/?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("page %s: %d", query, resp.StatusCode)
	}
	return string(b)
}

// drillCells reads the drill-down table: each row's first cell (text only) and its
// figures.
func drillCells(t *testing.T, page string) map[string][]string {
	t.Helper()
	i := strings.Index(page, `<table class="drill">`)
	if i < 0 {
		t.Fatalf("no drill-down table")
	}
	table := page[i : i+strings.Index(page[i:], "</table>")]
	tags := regexp.MustCompile(`<[^>]+>`)
	out := map[string][]string{}
	for _, tr := range strings.Split(table, "<tr")[2:] {
		cells := regexp.MustCompile(`<t[hd][^>]*>(.*?)</t[hd]>`).FindAllStringSubmatch(strings.ReplaceAll(tr, "\n", ""), -1)
		var row []string
		for _, c := range cells {
			row = append(row, strings.TrimSpace(tags.ReplaceAllString(c[1], "")))
		}
		if len(row) > 0 {
			out[row[0]] = row[1:]
		}
	}
	return out
}

// The columns of drillCells' rows, after the place.
const (
	colPeople = iota
	colReceived
	colDigitized
	colIssued
	colServed
	colGate
	colBHYT
	colWait
)

func TestDrillDownByPlace(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th, _ := seedStats(t)
		base := "period=month&at=2026-11"

		top := drillCells(t, getPage(t, th, base))
		if r := top["Nghệ An"]; len(r) != 8 || r[colPeople] != "72" || r[colIssued] != "94" || r[colGate] != "120" || r[colBHYT] != "8" || r[colWait] != "8 phút 32 giây" {
			t.Errorf("Nghệ An = %v", r)
		}
		if r := top["Hà Tĩnh"]; r[colIssued] != "200" || r[colReceived] != "40" || r[colWait] != "–" {
			t.Errorf("Hà Tĩnh = %v", r)
		}
		if r := top["Tổng cộng"]; r[colIssued] != "294" || r[colPeople] != "172" {
			t.Errorf("total = %v", r)
		}

		communes := drillCells(t, getPage(t, th, base+"&province="+url.QueryEscape("Nghệ An")))
		if r := communes["Phường Vinh Hưng"]; r[colPeople] != "65" || r[colIssued] != "85" {
			t.Errorf("Vinh Hưng = %v", r)
		}
		if r := communes["Xã Quỳnh Lưu"]; r == nil || r[colIssued] != "0" {
			t.Errorf("a commune that never pushed is missing or wrong: %v", r)
		}
		if _, ok := communes["Phường Thành Sen"]; ok {
			t.Errorf("another province's commune listed: %v", communes)
		}

		page := getPage(t, th, base+"&province="+url.QueryEscape("Nghệ An")+"&commune="+url.QueryEscape("Phường Vinh Hưng"))
		sites := drillCells(t, page)
		if r := sites["Trung tâm phục vụ hành chính công phường Vinh Hưng VH-1"]; r[colIssued] != "60" || r[colWait] != "10 phút" {
			t.Errorf("VH-1 = %v (rows %v)", r, sites)
		}
		if r := sites["VH-2 (chưa đặt tên)"]; r[colIssued] != "25" {
			t.Errorf("the unnamed site = %v (rows %v)", r, sites)
		}
		if strings.Contains(page, " / ") && strings.Contains(page, "<td>VH-2</td>") {
			t.Error("the unnamed site is shown by its bare code")
		}

		counters := drillCells(t, getPage(t, th, base+"&site=VH-1"))
		if r := counters["Quầy Q1"]; r[colServed] != "35" || r[colReceived] != "30" || r[colDigitized] != "24" {
			t.Errorf("Q1 = %v", r)
		}
		if r := counters["Quầy Q2"]; r[colServed] != "20" {
			t.Errorf("Q2 = %v", r)
		}
		if r := counters["Không gắn với quầy nào"]; r[colIssued] != "60" || r[colBHYT] != "8" {
			t.Errorf("the site's figures without a counter = %v", r)
		}

		// Breadcrumb links lead back up; the stale site is flagged in its time zone.
		page = getPage(t, th, base+"&province="+url.QueryEscape("Nghệ An"))
		for _, want := range []string{
			`<a href="/?at=2026-11&amp;period=month">Tất cả</a>`,
			"Bộ phận một cửa xã Cửa Lò", "không gửi số liệu từ 19/11/2026 (4 ngày)",
			"Bộ phận một cửa xã Quỳnh Lưu", "chưa gửi số liệu lần nào",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("province page lacks %q", want)
			}
		}
		if strings.Contains(getPage(t, th, base+"&province="+url.QueryEscape("Hà Tĩnh")), "Cửa Lò") {
			t.Error("Hà Tĩnh's page flags a site of Nghệ An")
		}
	})
}

func TestStaleAfterIsAnOption(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th, _ := seedStats(t, func(o *Options) { o.StaleAfter = 5 * 24 * time.Hour })
		if page := getPage(t, th, "period=month&at=2026-11"); strings.Contains(page, "Cửa Lò: ") || strings.Contains(page, "không gửi số liệu từ 19/11/2026") {
			t.Error("a site four days silent is flagged with a five-day threshold")
		}
	})
}

func TestSetSiteRenamesOnThePage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th, _ := seedStats(t)
		ctx := context.Background()
		name := "Bộ phận một cửa phường Vinh Hưng (cơ sở 2)"
		before, after, err := th.SetSite(ctx, "VH-2", SiteChange{Name: &name})
		if err != nil || before.Name != "" || after.Name != name || after.Commune != "Phường Vinh Hưng" {
			t.Fatalf("SetSite = %+v → %+v, %v", before, after, err)
		}
		page := getPage(t, th, "period=month&at=2026-11&commune="+url.QueryEscape("Phường Vinh Hưng"))
		if r := drillCells(t, page)[name+" VH-2"]; r == nil || r[colIssued] != "25" {
			t.Errorf("renamed site = %v", drillCells(t, page))
		}
		if _, _, err := th.SetSite(ctx, "NOPE", SiteChange{Name: &name}); err == nil || !strings.Contains(err.Error(), "unknown site") {
			t.Errorf("an unknown site: %v", err)
		}
	})
}

// TestServicesXLSX reads the workbook back: its parts, the report's title and shape,
// numbers stored as numbers, a bold header, column widths, a Vietnamese file name.
func TestServicesXLSX(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th, _ := seedStats(t)
		resp, err := http.Get(th.srv.URL + "/api/v1/report/services?period=month&at=2026-11&province=" + url.QueryEscape("Nghệ An") + "&format=xlsx")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("xlsx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		cd := resp.Header.Get("Content-Disposition")
		if !strings.Contains(cd, `filename="dich-vu-thiet-yeu-month-2026-11.xlsx"`) ||
			!strings.Contains(cd, "filename*=UTF-8''D%E1%BB%8Bch%20v%E1%BB%A5%20c%C3%B4ng%20thi%E1%BA%BFt%20y%E1%BA%BFu%20th%C3%A1ng%2011-2026.xlsx") {
			t.Errorf("Content-Disposition = %s", cd)
		}
		path := filepath.Join(t.TempDir(), "report.xlsx")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		parts := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			parts[f.Name] = string(b)
			var any struct{ XMLName xml.Name }
			if err := xml.Unmarshal(b, &any); err != nil {
				t.Errorf("%s is not XML: %v", f.Name, err)
			}
		}
		for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"} {
			if _, ok := parts[name]; !ok {
				t.Errorf("workbook lacks %s", name)
			}
		}
		type cell struct {
			Ref   string `xml:"r,attr"`
			Style int    `xml:"s,attr"`
			Type  string `xml:"t,attr"`
			V     string `xml:"v"`
			T     string `xml:"is>t"`
		}
		var sheet struct {
			Cols []struct {
				Width float64 `xml:"width,attr"`
			} `xml:"cols>col"`
			Rows []struct {
				R     int    `xml:"r,attr"`
				Cells []cell `xml:"c"`
			} `xml:"sheetData>row"`
		}
		if err := xml.Unmarshal([]byte(parts["xl/worksheets/sheet1.xml"]), &sheet); err != nil {
			t.Fatal(err)
		}
		if len(sheet.Cols) != 7 || sheet.Cols[1].Width < 40 {
			t.Errorf("column widths = %+v", sheet.Cols)
		}
		cells := map[string]cell{}
		for _, r := range sheet.Rows {
			for _, c := range r.Cells {
				cells[c.Ref] = c
			}
		}
		if c := cells["A1"]; !strings.HasPrefix(c.T, "BÁO CÁO KẾT QUẢ") || c.Style != int(xlsx.Title) {
			t.Errorf("title = %+v", c)
		}
		if c := cells["A2"]; c.T != "Kỳ báo cáo: tháng 11/2026 (từ 01/11/2026 đến 30/11/2026)" {
			t.Errorf("period = %+v", c)
		}
		if c := cells["A3"]; c.T != "Phạm vi: Nghệ An" {
			t.Errorf("scope = %+v", c)
		}
		if c := cells["B5"]; c.T != "Tên thủ tục hành chính" || c.Style != int(xlsx.Bold) || c.Type != "inlineStr" {
			t.Errorf("header = %+v", c)
		}
		// Row 5 is the header, so service n is row 5+n. Service 13 (khai sinh): 30 received,
		// 24 digitised in Nghệ An.
		if n, name, rec, dig, share := cells["A18"], cells["B18"], cells["D18"], cells["F18"], cells["G18"]; n.V != "13" || n.Type != "" ||
			name.T != "Đăng ký khai sinh" || rec.V != "30" || rec.Type != "" || dig.V != "24" || share.V != "80" || share.Style != int(xlsx.Percent) {
			t.Errorf("row of service 13: %+v %+v %+v %+v %+v", n, name, rec, dig, share)
		}
		if total, rec := cells["B31"], cells["D31"]; total.T != "Tổng cộng" || total.Style != int(xlsx.Bold) || rec.V != "35" {
			t.Errorf("total row: %+v %+v", total, rec)
		}
		if c, v := cells["B34"], cells["D34"]; c.T != vocab.Label(vocab.BHYTLookups) || v.V != "8" {
			t.Errorf("health-insurance look-ups: %+v %+v", c, v)
		}
		if !strings.Contains(parts["xl/styles.xml"], "<b/>") || !strings.Contains(parts["xl/workbook.xml"], `name="Dịch vụ công thiết yếu"`) {
			t.Error("styles lack bold, or the sheet is not named")
		}

		// If openpyxl or LibreOffice is here, it must read the workbook to the same figures.
		readWithOpenpyxl(t, path)
		office, err := exec.LookPath("libreoffice")
		if err != nil {
			t.Log("libreoffice not installed: the workbook was checked as XML only")
			return
		}
		out := t.TempDir()
		cmd := exec.Command(office, "--headless", "--convert-to", "csv", "--outdir", out, path)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("libreoffice: %v\n%s", err, b)
		}
		csvText, err := os.ReadFile(filepath.Join(out, "report.csv"))
		if err != nil || !strings.Contains(string(csvText), "Đăng ký khai sinh") || !strings.Contains(string(csvText), ",30,") {
			t.Errorf("libreoffice read: %v\n%s", err, csvText)
		}
	})
}

// readWithOpenpyxl reads the workbook with Python's openpyxl, when some python3 on this
// machine has it: numbers are numbers, the header is bold, the name column is wide.
func readWithOpenpyxl(t *testing.T, path string) {
	t.Helper()
	const script = `
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).active
print(json.dumps({"title": ws.title, "a1": ws["A1"].value, "b18": ws["B18"].value, "d18": ws["D18"].value,
  "g18": ws["G18"].value, "g18fmt": ws["G18"].number_format, "b5bold": ws["B5"].font.b, "d31": ws["D31"].value,
  "widthB": ws.column_dimensions["B"].width}))
`
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		out, err := exec.Command(py, "-c", script, path).Output()
		if err != nil {
			continue // no such python, or no openpyxl in it
		}
		var got struct {
			Title, A1, B18, G18fmt string
			D18, G18, D31, WidthB  float64
			B5bold                 bool
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("openpyxl output %s: %v", out, err)
		}
		if got.Title != "Dịch vụ công thiết yếu" || !strings.HasPrefix(got.A1, "BÁO CÁO") || got.B18 != "Đăng ký khai sinh" ||
			got.D18 != 30 || got.G18 != 80 || got.G18fmt != "0.0" || !got.B5bold || got.D31 != 35 || got.WidthB < 40 {
			t.Errorf("openpyxl reads %s", out)
		}
		t.Logf("openpyxl (%s) reads the workbook as written", py)
		return
	}
	t.Log("openpyxl not installed: the workbook was checked as XML only")
}
