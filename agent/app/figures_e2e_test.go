package app

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
	"motcua-agent/sync/wire"
)

// figuresAgentYAML is a counter PC with the queue only (no simulated scanner adding
// figures while they are compared), pushing to the provincial hub.
const figuresAgentYAML = `profile: counter
site:
  province_code: "40"
  commune_code: "16681"
  id: vinh-phu
  name: Trung tâm Phục vụ hành chính công phường Vinh Phú
  device_id: vinh-phu-pc1
http:
  tokens: {kiosk: kiosk-token-000000001, counter: counter-token-0000001, display: display-token-0000001, admin: admin-token-000000001}
queue:
  enabled: true
  no_show_after_recalls: 2
  services:
    - {code: A, name: "Chứng thực, hộ tịch", first: 1001, last: 1999}
    - {code: B, name: "Đất đai, xây dựng", first: 2001, last: 2999}
    - {code: C, name: "Thành lập doanh nghiệp, hộ kinh doanh", first: 3001, last: 3999, weight: 2}
  counters:
    - {id: "1", location: "Tầng 1, bên trái", services: [A]}
    - {id: "2", location: "Tầng 1, bên trái", services: [A, B]}
    - {id: "3", location: "Tầng 1, bên phải", services: [B, C]}
printer:
  transport: none
sync:
  url: %s
  secret: %s
  interval: 1h
`

// ledger is what the test itself saw happen, kept apart from everything the agent
// computes: the expected figures come from here.
type ledger struct {
	issued                                           map[string]int // per service at issue
	issuedAt                                         map[int]time.Time
	firstCalled                                      map[int]bool
	waitSec                                          int64
	firstCalls                                       int
	served, cancelled, transferred, recalls, noShows int
}

func (l *ledger) avgWait() float64 {
	return math.Round(float64(l.waitSec)/float64(l.firstCalls)*10) / 10
}

// counts are the expected metric sums of the day, by metric.
func (l *ledger) counts() map[string]int64 {
	total := 0
	for _, n := range l.issued {
		total += n
	}
	return map[string]int64{vocab.TicketsIssued: int64(total), vocab.TicketsFirstCalls: int64(l.firstCalls),
		vocab.TicketsServed: int64(l.served), vocab.TicketsNoShow: int64(l.noShows), vocab.TicketsCancelled: int64(l.cancelled),
		vocab.TicketsTransferred: int64(l.transferred), vocab.TicketsRecalls: int64(l.recalls), vocab.TicketsWaitSeconds: l.waitSec}
}

type figuresMorning struct {
	t      *testing.T
	tokens map[string]string
	base   string
	clock  *testkit.Clock
	l      *ledger
}

func (m *figuresMorning) call(method, role, path string, body any, out any) int {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, m.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+m.tokens[role])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		m.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = raw
	default:
		if err := json.Unmarshal(raw, out); err != nil {
			m.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

type e2eTicket struct {
	Number  int    `json:"number"`
	Service string `json:"service"`
	State   string `json:"state"`
}

// at moves the office clock to minutes past 08:00.
func (m *figuresMorning) at(min int) {
	d := m.clock.Now()
	m.clock.Set(time.Date(d.Year(), d.Month(), d.Day(), 8, min, 0, 0, d.Location()))
}

func (m *figuresMorning) issue(min int, service string) int {
	m.at(min)
	var out struct{ Ticket e2eTicket }
	m.call("POST", "kiosk", "/api/v1/tickets", map[string]any{"service": service}, &out)
	m.l.issued[service]++
	m.l.issuedAt[out.Ticket.Number] = m.clock.Now()
	return out.Ticket.Number
}

// called notes a call the agent answered with ticket n.
func (m *figuresMorning) called(n int) {
	if !m.l.firstCalled[n] {
		m.l.firstCalled[n] = true
		m.l.firstCalls++
		m.l.waitSec += int64(m.clock.Now().Sub(m.l.issuedAt[n]) / time.Second)
	}
}

func (m *figuresMorning) next(min int, counter string, want int) {
	m.at(min)
	var tk e2eTicket
	m.call("POST", "counter", "/api/v1/counters/"+counter+"/next", nil, &tk)
	if tk.Number != want {
		m.t.Fatalf("08:%02d counter %s called %d, the morning's plan says %d", min, counter, tk.Number, want)
	}
	m.called(tk.Number)
}

func (m *figuresMorning) act(min, n int, action string, body any) {
	m.at(min)
	m.call("POST", "counter", fmt.Sprintf("/api/v1/tickets/%d/%s", n, action), body, nil)
	switch action {
	case "call":
		m.called(n)
	case "finish":
		m.l.served++
	case "cancel":
		m.l.cancelled++
	case "transfer":
		m.l.transferred++
	case "recall":
		m.l.recalls++
	}
}

// TestEveryFigureAgreesFromCounterToNation walks a morning at a counter PC (transfers,
// recalls, a no-show who comes back, cancels, calls still open at the end), syncs it
// to a provincial hub and on to a national one, and reads every figure on every screen
// and export: the agent's dashboard, day statistics, day and 30-day reports and CSV;
// the province's page and its JSON, CSV and XLSX; the nation's page and JSON. Every
// one says what the test itself saw.
func TestEveryFigureAgreesFromCounterToNation(t *testing.T) {
	dir := t.TempDir()
	const province, commune = "Nghệ An", "Phường Vinh Phú"

	chain := startHubChain(t, dir, province, commune)
	psrv, nsrv, up, agentSecret := chain.province, chain.nation, chain.upstream, chain.agentSecret

	// The agent, its office clock at 08:00 today in Vietnam.
	addr := freeAddr(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(figuresAgentYAML, psrv.URL, agentSecret)), filepath.Join(dir, "agent.yaml"),
		config.Overrides{DataDir: filepath.Join(dir, "agent"), Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	a, base, clock := runAtEight(t, cfg)
	day := clock.Now().Format(time.DateOnly)

	tokens := map[string]string{}
	for role, tok := range a.Tokens {
		tokens[string(role)] = tok
	}
	m := &figuresMorning{t: t, tokens: tokens, base: base, clock: clock, l: &ledger{issued: map[string]int{}, issuedAt: map[int]time.Time{}, firstCalled: map[int]bool{}}}
	a1, a2, b1, c1, a3, b2, c2, a4 := m.issue(0, "A"), m.issue(1, "A"), m.issue(2, "B"), m.issue(3, "C"), m.issue(5, "A"), m.issue(6, "B"), m.issue(7, "C"), m.issue(8, "A")
	m.next(10, "1", a1)
	m.act(11, a1, "start", nil)
	m.next(11, "3", c1)                                       // C weighs double: 8 minutes beat B's 9
	m.act(11, c1, "transfer", map[string]any{"service": "B"}) // the wrong line: sent to B, already called once
	m.next(12, "2", a2)
	m.act(13, a2, "recall", nil)
	m.act(14, a2, "recall", nil)
	m.act(14, a2, "noshow", nil)
	m.l.noShows++
	m.act(14, a3, "cancel", nil) // gave up before any call
	m.act(15, a1, "finish", nil)
	m.next(15, "1", a4)
	m.act(16, a4, "finish", nil)
	m.next(16, "3", c2)
	m.act(17, c2, "cancel", nil) // cancelled while called
	m.next(18, "3", b1)
	m.act(19, a2, "call", map[string]any{"counter": "2"}) // the absent citizen came back: absent no more
	m.l.noShows--
	m.act(22, a2, "finish", nil)
	m.act(25, b1, "finish", nil)
	m.next(26, "3", b2)
	m.next(27, "2", c1)    // the transferred ticket, called again: not a first call
	a5 := m.issue(28, "A") // still waiting at the end
	m.at(30)               // two calls open (b2 at 3, c1 at 2), one ticket waiting
	_ = a5
	l := m.l
	want := l.counts()
	wantAvg := l.avgWait()
	wantAvgText := vocab.Seconds(wantAvg)
	if l.firstCalls != 7 || l.waitSec != 4860 || wantAvgText != "11 phút 34 giây" {
		t.Fatalf("the test's own ledger: %d first calls, %d s: %s", l.firstCalls, l.waitSec, wantAvgText)
	}
	avgLabel := vocab.LookupFigure(vocab.FigureAvgWait).Label
	wantIssued := map[string]int64{"A": 5, "B": 2, "C": 2}

	// The agent's day statistics.
	var st struct {
		Total    map[string]any `json:"total"`
		Services []struct {
			Key    string `json:"key"`
			Issued int64  `json:"issued"`
		} `json:"services"`
	}
	m.call("GET", "counter", "/api/v1/queue/stats", nil, &st)
	for field, metric := range map[string]string{"issued": vocab.TicketsIssued, "first_calls": vocab.TicketsFirstCalls, "served": vocab.TicketsServed,
		"no_shows": vocab.TicketsNoShow, "cancelled": vocab.TicketsCancelled, "transferred": vocab.TicketsTransferred, "recalls": vocab.TicketsRecalls} {
		if got := st.Total[field]; got != float64(want[metric]) {
			t.Errorf("agent stats: %s = %v, want %d", field, got, want[metric])
		}
	}
	if st.Total["avg_wait_s"] != wantAvg || st.Total["waiting_now"] != 1.0 {
		t.Errorf("agent stats: average wait %v s, waiting %v; want %v s, 1", st.Total["avg_wait_s"], st.Total["waiting_now"], wantAvg)
	}
	for _, s := range st.Services {
		if s.Issued != wantIssued[s.Key] {
			t.Errorf("agent stats: service %s issued %d, want %d (at issue, whatever the transfers)", s.Key, s.Issued, wantIssued[s.Key])
		}
	}

	// The agent's dashboard: its table of counters and its queue block say the same.
	var dash struct {
		Counters []struct {
			Metric string            `json:"metric"`
			Dims   map[string]string `json:"dims"`
			Value  int64             `json:"value"`
		} `json:"counters"`
		Status map[string]json.RawMessage `json:"status"`
	}
	m.call("GET", "counter", "/api/v1/dashboard", nil, &dash)
	got := map[string]int64{}
	perService := map[string]int64{}
	for _, c := range dash.Counters {
		got[c.Metric] += c.Value
		if c.Metric == vocab.TicketsIssued {
			perService[c.Dims[vocab.DimService]] += c.Value
		}
	}
	for metric, v := range want {
		if got[metric] != v {
			t.Errorf("agent dashboard counters: %s = %d, want %d", metric, got[metric], v)
		}
	}
	if fmt.Sprint(perService) != fmt.Sprint(wantIssued) {
		t.Errorf("agent dashboard: issued per service %v, want %v", perService, wantIssued)
	}
	var block web.Block
	if err := json.Unmarshal(dash.Status["queue"], &block); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, r := range block.Rows {
		rows[r.Label] = r.Value
	}
	for label, v := range map[string]string{"Số phiếu đã phát": "9", "Đã phục vụ": "4", "Vắng mặt": "0", "Đã hủy": "2",
		"Đã chuyển dịch vụ hoặc quầy (lượt)": "1", "Gọi lại (lần)": "2", "Đang chờ": "1", avgLabel: wantAvgText} {
		if rows[label] != v {
			t.Errorf("agent dashboard: %q = %q, want %q", label, rows[label], v)
		}
	}
	for _, line := range []string{"Chứng thực, hộ tịch", "Đất đai, xây dựng", "Thành lập doanh nghiệp, hộ kinh doanh"} {
		if !strings.Contains(rows[line], fmt.Sprintf("đã phát %d ", wantIssued[map[string]string{"Chứng thực, hộ tịch": "A", "Đất đai, xây dựng": "B", "Thành lập doanh nghiệp, hộ kinh doanh": "C"}[line]])) {
			t.Errorf("agent dashboard: %s: %q", line, rows[line])
		}
	}

	// The day and 30-day reports: the same average (in minutes, to a tenth).
	wantMin := vocab.Decimal(wantAvg / 60)
	var rep struct{ Charts []struct{ Title, SVG string } }
	m.call("GET", "admin", "/api/v1/queue/report?day="+day, nil, &rep)
	if len(rep.Charts) < 2 || !strings.Contains(rep.Charts[1].SVG, "<title>giờ 08: "+wantMin+"</title>") {
		t.Errorf("agent day report: want the 08:00 hour's average %s minutes; titles %v", wantMin, svgTitles(rep.Charts))
	}
	m.call("GET", "admin", "/api/v1/queue/report?days=30&day="+day, nil, &rep)
	dm := day[8:10] + "/" + day[5:7]
	if len(rep.Charts) < 2 || !strings.Contains(rep.Charts[1].SVG, "<title>ngày "+dm+": "+wantMin+"</title>") ||
		!strings.Contains(rep.Charts[0].SVG, "<title>ngày "+dm+": 9</title>") {
		t.Errorf("agent 30-day report: want %s: 9 tickets, %s minutes; titles %v", dm, wantMin, svgTitles(rep.Charts))
	}

	// The agent's CSV: the waits add up to the same average; each ticket once, in its state.
	var raw []byte
	m.call("GET", "admin", "/api/v1/queue/export.csv?day="+day, nil, &raw)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sum, n int64
	states := map[string]int{}
	for _, r := range recs[1:] {
		states[r[3]]++
		if r[9] != "" {
			v, _ := strconv.ParseInt(r[9], 10, 64)
			sum, n = sum+v, n+1
		}
	}
	if len(recs) != 10 || sum != l.waitSec || n != int64(l.firstCalls) ||
		fmt.Sprint(states) != fmt.Sprint(map[string]int{"đang chờ": 1, "đang được gọi": 2, "đã hủy": 2, "đã xong": 4}) {
		t.Errorf("agent CSV: %d tickets, waits %d s over %d, states %v", len(recs)-1, sum, n, states)
	}

	// Up to the province, and on to the nation.
	m.call("POST", "admin", "/api/v1/sync/now", nil, nil)
	q := url.Values{"period": {"day"}, "at": {day}, "province": {province}, "commune": {commune}, "site": {"vinh-phu"}}
	provFigures := waitForFigures(t, psrv.URL, "tinh", q, want)
	up.Trigger()
	nq := url.Values{"period": {"day"}, "at": {day}, "province": {province}}
	natFigures := waitForFigures(t, nsrv.URL, "quoc-gia", nq, want)
	for where, figs := range map[string]map[string]hub.FigureValue{"province JSON": provFigures, "nation JSON": natFigures} {
		checkFigureValues(t, where, figs, want, wantAvg)
	}

	// The province's CSV and XLSX of every figure, and both pages.
	for where, srv := range map[string]struct {
		url, token string
		q          url.Values
	}{"province": {psrv.URL, "tinh", q}, "nation": {nsrv.URL, "quoc-gia", nq}} {
		qq := url.Values{}
		for k, v := range srv.q {
			qq[k] = v
		}
		qq.Set("token", srv.token)
		qq.Set("format", "csv")
		body := httpGet(t, srv.url+"/api/v1/report/figures?"+qq.Encode())
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		csvVals := map[string]string{}
		for _, r := range recs[1:] {
			csvVals[r[4]] = r[1]
		}
		for metric, v := range want {
			if csvVals[metric] != fmt.Sprint(v) {
				t.Errorf("%s CSV: %s = %q, want %d", where, metric, csvVals[metric], v)
			}
		}
		if csvVals[vocab.FigureAvgWait] != vocab.Decimal(wantAvg) {
			t.Errorf("%s CSV: average wait %q, want %q (decimal comma)", where, csvVals[vocab.FigureAvgWait], vocab.Decimal(wantAvg))
		}
		qq.Set("format", "xlsx")
		cells := xlsxLabelled(t, httpGet(t, srv.url+"/api/v1/report/figures?"+qq.Encode()))
		for metric, v := range want {
			if label := hubMetricLabel(metric); cells[label] != fmt.Sprint(v) {
				t.Errorf("%s XLSX: %s = %q, want %d", where, label, cells[label], v)
			}
		}
		if cells[avgLabel] != strconv.FormatFloat(wantAvg, 'f', -1, 64) {
			t.Errorf("%s XLSX: %s = %q, want %v", where, avgLabel, cells[avgLabel], wantAvg)
		}
		qq.Del("format")
		page := pageFigures(t, string(httpGet(t, srv.url+"/?"+qq.Encode())))
		for metric, v := range want {
			wantText := vocab.Number(v)
			if metric == vocab.TicketsWaitSeconds {
				wantText = vocab.Duration(time.Duration(v) * time.Second)
			}
			if label := hubMetricLabel(metric); page[label] != wantText {
				t.Errorf("%s page: %s = %q, want %q", where, label, page[label], wantText)
			}
		}
		if page[avgLabel] != wantAvgText {
			t.Errorf("%s page: %s = %q, want %q, as on the counter's dashboard", where, avgLabel, page[avgLabel], wantAvgText)
		}
	}

	// Names travel with the codes: the agent's dashboard names its counters and
	// services; the province's page names the counters (the code small beside the
	// name); the nation's page names the site, not its code.
	var named struct{ Names map[string]map[string]string }
	m.call("GET", "counter", "/api/v1/dashboard", nil, &named)
	if named.Names["counter"]["3"] != "Quầy 3 (Tầng 1, bên phải)" || named.Names["service"]["C"] != "Thành lập doanh nghiệp, hộ kinh doanh" {
		t.Errorf("agent dashboard names: %v", named.Names)
	}
	// The dashboard as the office head opens it, in Chromium: names, codes small beside
	// them, the same average wait, and no raw code or English word.
	browsertest.Path(t)
	bctx := browsertest.Headless(t)
	browsertest.Do(t, bctx, "agent dashboard", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/?token="+tokens["admin"]),
		browsertest.Poll(`document.querySelectorAll("#counters small.code").length > 0 && document.getElementById("status").textContent.includes("Hàng chờ")`))
	counters := browsertest.Eval[string](t, bctx, `document.getElementById("counters").innerText`)
	for _, want := range []string{"Dịch vụ: Chứng thực, hộ tịch A", "Quầy: Quầy 3 (Tầng 1, bên phải) 3", "Số phiếu đã được gọi"} {
		if !strings.Contains(counters, want) {
			t.Errorf("agent dashboard's counters lack %q: %q", want, counters)
		}
	}
	if status := browsertest.Eval[string](t, bctx, `document.getElementById("status").innerText`); !strings.Contains(status, avgLabel+"\t"+wantAvgText) {
		t.Errorf("agent dashboard's queue block: want %q = %q in %q", avgLabel, wantAvgText, status)
	}
	checkWords(t, bctx, "agent dashboard")
	browsertest.FullScreenshot(t, bctx, "figures-agent-dashboard")

	m.call("POST", "admin", "/api/v1/sync/now", nil, nil) // the hub said it reads names: they go now
	pq := url.Values{"period": {"day"}, "at": {day}, "site": {"vinh-phu"}, "token": {"tinh"}}
	waitForPage(t, psrv.URL+"/?"+pq.Encode(), `>Quầy 3 (Tầng 1, bên phải)</a> <small>3</small>`)
	up.Trigger()
	nq2 := url.Values{"period": {"day"}, "at": {day}, "province": {province}, "commune": {commune}, "token": {"quoc-gia"}}
	waitForPage(t, nsrv.URL+"/?"+nq2.Encode(), `>Trung tâm Phục vụ hành chính công phường Vinh Phú</a> <small>vinh-phu</small>`)
	nq2.Set("site", "vinh-phu")
	waitForPage(t, nsrv.URL+"/?"+nq2.Encode(), `>Quầy 2 (Tầng 1, bên trái)</a> <small>2</small>`)
}

// waitForPage reads a page until it holds want (names are on their way up).
func waitForPage(t *testing.T, u, want string) {
	t.Helper()
	var page string
	testkit.Eventually(t, 30*time.Second, func() bool {
		page = string(httpGet(t, u))
		return strings.Contains(page, want)
	}, "%s to show %s; its drill-down: %.1500s", u, want, func() string {
		return page[max(strings.Index(page, `<table class="drill">`), 0):]
	})
}

// svgTitles are the bars' titles of charts ("giờ 08: 11,6"), the ones with a value.
func svgTitles(charts []struct{ Title, SVG string }) []string {
	var out []string
	for _, c := range charts {
		for _, m := range regexp.MustCompile(`<title>([^<]*[1-9][^<]*)</title>`).FindAllStringSubmatch(c.SVG, -1) {
			out = append(out, c.Title+" · "+m[1])
		}
	}
	return out
}

// hubMetricLabel is a metric's label as the hub shows it (durations without the unit).
func hubMetricLabel(metric string) string { return strings.TrimSuffix(vocab.Label(metric), " (giây)") }

func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// waitForFigures reads a hub's figures export until its counts are want (the pushes
// are on their way), and returns them by name.
func waitForFigures(t *testing.T, base, token string, q url.Values, want map[string]int64) map[string]hub.FigureValue {
	t.Helper()
	qq := url.Values{"token": {token}}
	for k, v := range q {
		qq[k] = v
	}
	var last map[string]hub.FigureValue
	testkit.Eventually(t, 30*time.Second, func() bool {
		var rep hub.FigureReport
		if err := json.Unmarshal(httpGet(t, base+"/api/v1/report/figures?"+qq.Encode()), &rep); err != nil {
			t.Fatal(err)
		}
		last = map[string]hub.FigureValue{}
		for _, f := range rep.Figures {
			last[f.Name] = f
		}
		for metric, v := range want {
			if f, found := last[metric]; !found || f.Value == nil || *f.Value != float64(v) {
				return false
			}
		}
		return true
	}, "%s: the figures to arrive: %+v", base, func() string { return fmt.Sprintf("%+v", last) })
	return last
}

func checkFigureValues(t *testing.T, where string, figs map[string]hub.FigureValue, want map[string]int64, wantAvg float64) {
	t.Helper()
	for metric, v := range want {
		if f := figs[metric]; f.Value == nil || *f.Value != float64(v) {
			t.Errorf("%s: %s = %+v, want %d", where, metric, f, v)
		}
	}
	if f := figs[vocab.FigureAvgWait]; f.Value == nil || *f.Value != wantAvg || f.Text != vocab.Seconds(wantAvg) {
		t.Errorf("%s: average wait %+v, want %v (%s)", where, f, wantAvg, vocab.Seconds(wantAvg))
	}
}

// pageFigures reads the hub page's table of every figure: label → value as shown.
func pageFigures(t *testing.T, page string) map[string]string {
	t.Helper()
	i := strings.Index(page, `<section id="figures">`)
	if i < 0 {
		t.Fatal("no table of figures on the page")
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<tr><td>(.*?)</td><td class="n">(.*?)</td></tr>`).FindAllStringSubmatch(sec, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// xlsxLabelled reads a workbook's first sheet: column A's text → column B's value.
func xlsxLabelled(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var sheet []byte
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			rc, _ := f.Open()
			sheet, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	out := map[string]string{}
	row := regexp.MustCompile(`<row r="\d+">(.*?)</row>`)
	cell := regexp.MustCompile(`<c r="([A-Z]+)\d+"[^>]*>(?:<v>([^<]*)</v>|<is><t[^>]*>([^<]*)</t></is>)</c>`)
	for _, r := range row.FindAllStringSubmatch(string(sheet), -1) {
		vals := map[string]string{}
		for _, c := range cell.FindAllStringSubmatch(r[1], -1) {
			vals[c[1]] = html.UnescapeString(c[2] + c[3])
		}
		out[vals["A"]] = vals["B"]
	}
	return out
}

// hubChain is a provincial hub pushing to a national one, with the Vinh Phú counter PC
// (site vinh-phu, device vinh-phu-pc1) enrolled at the province.
type hubChain struct {
	province, nation *httptest.Server
	upstream         *hub.Upstream
	agentSecret      string
}

// startHubChain starts the national hub, and the provincial hub enrolled there as the
// province, with report tokens "quoc-gia" and "tinh".
func startHubChain(t *testing.T, dir, province, commune string) hubChain {
	t.Helper()
	ctx := context.Background()
	national, err := hub.Open(filepath.Join(dir, "national.db"), hub.Options{ReportToken: "quoc-gia"})
	if err != nil {
		t.Fatal(err)
	}
	nsrv := httptest.NewServer(national.Handler())
	t.Cleanup(func() { nsrv.Close(); national.Close() })
	provSecret, err := national.EnrollUpstream(ctx, hub.Site{Code: "NA", Name: "Tỉnh Nghệ An", Province: province}, "hub-NA")
	if err != nil {
		t.Fatal(err)
	}
	provKey, _ := wire.ParseSecret(provSecret)
	prov, err := hub.Open(filepath.Join(dir, "province.db"), hub.Options{ReportToken: "tinh"})
	if err != nil {
		t.Fatal(err)
	}
	psrv := httptest.NewServer(prov.Handler())
	t.Cleanup(func() { psrv.Close(); prov.Close() })
	up, err := prov.StartUpstream(hub.UpstreamConfig{URL: nsrv.URL, Site: "NA", Device: "hub-NA", Secret: provKey,
		Interval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	agentSecret, err := prov.Enroll(ctx, hub.Site{Code: "vinh-phu", Name: "Trung tâm Phục vụ hành chính công phường Vinh Phú",
		Province: province, Commune: commune}, "vinh-phu-pc1")
	if err != nil {
		t.Fatal(err)
	}
	return hubChain{province: psrv, nation: nsrv, upstream: up, agentSecret: agentSecret}
}

// runAtEight runs an agent on cfg, its office clock at 08:00 today in the site's zone,
// and waits until it answers.
func runAtEight(t *testing.T, cfg *config.Config) (*App, string, *testkit.Clock) {
	t.Helper()
	ctx := context.Background()
	addr := cfg.HTTP.Listen
	loc := cfg.Location()
	now := time.Now().In(loc)
	clock := testkit.NewClock(time.Date(now.Year(), now.Month(), now.Day(), 8, 0, 0, 0, loc))
	actx, cancel := context.WithCancel(ctx)
	a, err := Open(actx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Now = clock.Now
	done := make(chan struct{})
	go func() { a.Run(actx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	base := "http://" + addr
	testkit.Eventually(t, 20*time.Second, func() bool {
		r, err := http.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	}, "the agent answers at %s", base)
	return a, base, clock
}
