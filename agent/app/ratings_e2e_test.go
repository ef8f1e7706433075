//go:build unix

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/identity"
	"motcua-agent/agent/queue"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
)

// ratingsAgentYAML is the Vinh Phú counter PC with two counters, ratings on, a staff
// list of two officers (one signs in by PIN, the other by her chip card on counter 2's
// reader), a rating keypad on a serial line, pushing to the provincial hub.
const ratingsAgentYAML = `profile: counter
site:
  province_code: "40"
  commune_code: "16681"
  id: vinh-phu
  name: Trung tâm Phục vụ hành chính công phường Vinh Phú
  device_id: vinh-phu-pc1
http:
  tokens: {kiosk: kiosk-token-000000001, counter: counter-token-0000001, display: display-token-0000001, admin: admin-token-000000001, rating: rating-token-00000001}
queue:
  enabled: true
  services:
    - {code: A, name: "Chứng thực, hộ tịch", first: 1001, last: 1999}
    - {code: B, name: "Đất đai, xây dựng", first: 2001, last: 2999}
  counters:
    - {id: "1", location: "Tầng 1, bên trái", services: [A]}
    - {id: "2", location: "Tầng 1, bên phải", services: [A, B]}
  rating: {enabled: true}
printer: {transport: none}
display: {rating_keypad: %q}
card:
  enabled: true
  trust_dir: %q
  readers: [{name: %q, counter: "2"}]
staff:
  key_file: %q
  officers:
    - {id: nv01, name: "Nguyễn Thị Lan", pin_hash: %q}
    - {id: nv02, name: "Lê Thị Bình", id_hash: %q}
sync:
  url: %s
  secret: %s
  interval: 1h
`

type ratingsMorning struct {
	t      *testing.T
	a      *App
	base   string
	clock  *testkit.Clock
	tokens map[string]string
}

// call sends a request with a role's token ("" for none) and returns the status and
// the decoded body.
func (m *ratingsMorning) call(method, role, path string, body any) (int, map[string]any) {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, m.base+path, rd)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+m.tokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (m *ratingsMorning) ok(method, role, path string, body any) map[string]any {
	m.t.Helper()
	code, out := m.call(method, role, path, body)
	if code/100 != 2 {
		m.t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

func (m *ratingsMorning) issue(service string) int {
	out := m.ok("POST", "kiosk", "/api/v1/tickets", map[string]any{"service": service})
	return int(out["ticket"].(map[string]any)["number"].(float64))
}

func (m *ratingsMorning) minute(min int) {
	d := m.clock.Now()
	m.clock.Set(time.Date(d.Year(), d.Month(), d.Day(), 8, min, 0, 0, d.Location()))
}

// adminStats is the day's statistics as the office head reads them.
func (m *ratingsMorning) adminStats() queue.Stats {
	m.t.Helper()
	req, _ := http.NewRequest("GET", m.base+"/api/v1/queue/stats", nil)
	req.Header.Set("Authorization", "Bearer "+m.tokens["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st queue.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		m.t.Fatal(err)
	}
	return st
}

// TestRatingsMorning: two officers sign in (one by PIN on the console, one by her own
// chip card on the counter's reader), call and finish tickets on the console in
// Chromium; citizens rate on the counter's tablet page, on the serial rating keypad
// and by their ticket's QR link on a phone; the refusals say why in Vietnamese; the
// console never shows a rating; and the satisfaction and response rate are the same
// on the agent, the provincial hub and the national hub.
func TestRatingsMorning(t *testing.T) {
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	browsertest.Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	reader := vpcd.ReaderName(vpcd.DefaultAddr)
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const province, commune = "Nghệ An", "Phường Vinh Phú"
	chain := startHubChain(t, dir, province, commune)

	// The officers' key and hashes, as `motcua-agent staff key` and `staff hash` make them.
	keyFile := filepath.Join(dir, "staff.key")
	if err := os.WriteFile(keyFile, []byte(queue.NewStaffKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := queue.LoadStaffKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	binh, err := simcard.Load(filepath.Join("..", "..", "testdata", "cards", "binh-2024.json"))
	if err != nil {
		t.Fatal(err)
	}
	qr, err := cccd.ParseQR(binh.QR)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(dir, "trust")
	if _, err := identity.ImportTrust(trust, filepath.Join("..", "..", "testdata", "cards", "pki", "test", "csca.der")); err != nil {
		t.Fatal(err)
	}
	keypad, err := ptypair.Open(ctx, dir, "rating-keypad")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keypad.Close() })
	yaml := fmt.Sprintf(ratingsAgentYAML, keypad.Device, trust, reader, keyFile, key.PINHash("nv01", "2468"), key.IDHash(qr.ID),
		chain.province.URL, chain.agentSecret)
	cfg, err := config.Parse([]byte(yaml), filepath.Join(dir, "agent.yaml"),
		config.Overrides{DataDir: filepath.Join(dir, "agent"), Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, base, clock := runAtEight(t, cfg)
	m := &ratingsMorning{t: t, a: a, base: base, clock: clock, tokens: map[string]string{}}
	for role, tok := range a.Tokens {
		m.tokens[string(role)] = tok
	}
	day := clock.Now().Format(time.DateOnly)
	officials, citizens := browser(t), browser(t)

	// 08:00 Lan signs in at counter 1 by PIN; a wrong PIN first.
	console := browsertest.Tab(t, officials)
	browsertest.Do(t, console, "console 1", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/counter?counter=1&token="+m.tokens["counter"]),
		chromedp.WaitVisible(chromedp.CSS("#officer-out")))
	browsertest.Screenshot(t, console, "rating-console-signin")
	browsertest.Do(t, console, "a wrong PIN", chromedp.SetValue("#officer", "nv01"), chromedp.SendKeys("#pin", "1111"),
		chromedp.Click("#signin"), browsertest.Poll(`!!document.querySelector("#officer-msg .error")`))
	if got := browsertest.TextContent(t, console, "#officer-msg"); got != "Mã nhân viên hoặc mã PIN không đúng." {
		t.Errorf("wrong PIN says %q", got)
	}
	browsertest.Do(t, console, "Lan's PIN", chromedp.SendKeys("#pin", "2468"), chromedp.Click("#signin"),
		chromedp.WaitVisible(chromedp.CSS("#officer-in")))
	if got := browsertest.TextContent(t, console, "#officer-name"); got != "Nguyễn Thị Lan" {
		t.Fatalf("signed in: %q", got)
	}
	browsertest.Screenshot(t, console, "rating-console-signed-in")

	// Bình signs in at counter 2 with her own card: its QR for the keys, then the chip.
	m.ok("POST", "counter", "/api/v1/identity/keys", map[string]any{"counter": "2", "qr": binh.QR})
	card, err := binh.Card(simcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slot := pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
	testkit.Eventually(t, 90*time.Second, func() bool {
		_, out := m.call("GET", "counter", "/api/v1/counters/2/officer", nil)
		o, _ := out["officer"].(map[string]any)
		return o != nil && o["id"] == "nv02"
	}, "Bình signed in at counter 2 by her card")
	if err := slot.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}

	// The tablet facing counter 1's citizens, and its first ticket.
	tablet := browsertest.Tab(t, citizens)
	browsertest.Do(t, tablet, "tablet", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/rate?counter=1&token="+m.tokens["rating"]),
		chromedp.WaitVisible(chromedp.CSS("#idle")))
	a1, a2, a3, b1 := m.issue("A"), m.issue("A"), m.issue("A"), m.issue("B")
	// Rating before the service is finished.
	if code, out := m.call("POST", "rating", fmt.Sprintf("/api/v1/tickets/%d/rating", a1), map[string]any{"level": 5, "channel": "tablet"}); code != 409 ||
		out["message"] != "Số này chưa được phục vụ xong nên chưa đánh giá được." {
		t.Errorf("before the finish: %d %v", code, out)
	}
	m.minute(2)
	browsertest.Do(t, console, "next", chromedp.Click("#next"), browsertest.Poll(fmt.Sprintf(`document.getElementById("current").textContent === "%d"`, a1)))
	m.minute(6)
	browsertest.Do(t, console, "finish", chromedp.Click("#finish"), browsertest.Poll(`document.getElementById("current").textContent === "—"`))

	// The tablet shows the rating by itself; a low level asks for reasons.
	browsertest.Do(t, tablet, "the rating appears", chromedp.WaitVisible(chromedp.CSS("#ask")))
	if got := browsertest.TextContent(t, tablet, "#which"); got != fmt.Sprintf("Số thứ tự %d · Quầy 1", a1) {
		t.Errorf("tablet asks about %q", got)
	}
	browsertest.Screenshot(t, tablet, "rating-tablet")
	browsertest.Do(t, tablet, "level 2", chromedp.Click(`button[data-level="2"]`), chromedp.WaitVisible(chromedp.CSS("#why")))
	browsertest.Screenshot(t, tablet, "rating-tablet-reasons")
	browsertest.Do(t, tablet, "a reason, sent", chromedp.Click(`#reasons input[value="Chờ lâu"]`), chromedp.Click("#send"),
		browsertest.Poll(`document.getElementById("msg").textContent.startsWith("Cảm ơn ông/bà đã đánh giá")`))

	// Counter 2 (Bình) serves b1; the citizen presses 5 on the rating keypad.
	m.minute(8)
	m.ok("POST", "counter", fmt.Sprintf("/api/v1/tickets/%d/call", b1), map[string]any{"counter": "2"})
	m.minute(12)
	m.ok("POST", "counter", fmt.Sprintf("/api/v1/tickets/%d/finish", b1), nil)
	host, err := os.OpenFile(keypad.Host, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	fmt.Fprint(host, "2 RATE 9\r\n2 RATE 5\r\n")
	testkit.Eventually(t, 20*time.Second, func() bool { return m.adminStats().Total.RatingsTotal == 2 }, "the keypad's rating counted")
	// Counter 2 serves a2 and nobody rates it.
	m.ok("POST", "counter", fmt.Sprintf("/api/v1/tickets/%d/call", a2), map[string]any{"counter": "2"})
	m.minute(15)
	m.ok("POST", "counter", fmt.Sprintf("/api/v1/tickets/%d/finish", a2), nil)

	// Lan serves a3; its citizen rates 4 on a phone from the ticket's QR link.
	browsertest.Do(t, console, "next a3", chromedp.Click("#next"), browsertest.Poll(fmt.Sprintf(`document.getElementById("current").textContent === "%d"`, a3)))
	m.minute(20)
	browsertest.Do(t, console, "finish a3", chromedp.Click("#finish"), browsertest.Poll(`document.getElementById("current").textContent === "—"`))
	_, tk := m.call("GET", "", fmt.Sprintf("/api/v1/tickets/%d", a3), nil)
	status, _ := url.Parse(tk["status_url"].(string))
	if status.Query().Get("k") == "" {
		t.Fatalf("the ticket's QR link has no rating key: %s", status)
	}
	phone := browsertest.Tab(t, citizens)
	browsertest.Do(t, phone, "status page", chromedp.EmulateViewport(412, 915), chromedp.Navigate(base+"/ticket?"+status.RawQuery),
		chromedp.WaitVisible(chromedp.CSS("#rate-link a")), chromedp.Click("#rate-link a"), chromedp.WaitVisible(chromedp.CSS("#ask")))
	browsertest.FullScreenshot(t, phone, "rating-phone")
	browsertest.Do(t, phone, "level 4", chromedp.Click(`button[data-level="4"]`),
		browsertest.Poll(`document.getElementById("msg").textContent.startsWith("Cảm ơn ông/bà đã đánh giá")`))
	// The same link again: already rated, said on the page.
	browsertest.Do(t, phone, "the link again", chromedp.Reload(), browsertest.Poll(`document.getElementById("msg").textContent !== ""`))
	if got := browsertest.TextContent(t, phone, "#msg"); !strings.Contains(got, "đã được đánh giá") {
		t.Errorf("second visit says %q", got)
	}
	// Refusals through the API: another ticket's key, an unknown ticket, after the window.
	ratingPath := "/api/v1/tickets/%d/rating?d=" + day + "&k=" + status.Query().Get("k")
	if code, out := m.call("POST", "", fmt.Sprintf(ratingPath, a2), map[string]any{"level": 5, "channel": "qr"}); code != 403 ||
		out["message"] != "Đường dẫn đánh giá không đúng. Mời ông/bà quét lại mã QR trên phiếu." {
		t.Errorf("another ticket's key: %d %v", code, out)
	}
	if code, _ := m.call("POST", "rating", "/api/v1/tickets/1500/rating", map[string]any{"level": 5, "channel": "tablet"}); code != 404 {
		t.Errorf("unknown ticket: %d", code)
	}
	m.minute(26)
	if code, out := m.call("POST", "rating", fmt.Sprintf("/api/v1/tickets/%d/rating", a2), map[string]any{"level": 5, "channel": "tablet"}); code != 410 ||
		out["message"] != "Đã quá 10 phút kể từ khi phục vụ xong nên không đánh giá được nữa." {
		t.Errorf("after the window: %d %v", code, out)
	}

	// The officers never see a rating: not on the console, not in what its token reads.
	if text := browsertest.Eval[string](t, console, `document.body.innerText`); strings.Contains(text, "đánh giá") || strings.Contains(text, "hài lòng") {
		t.Errorf("the console shows a rating: %q", text)
	}
	if _, out := m.call("GET", "counter", "/api/v1/queue/stats", nil); out["total"].(map[string]any)["ratings"] != nil {
		t.Errorf("the counter's token reads ratings: %v", out["total"])
	}

	// The agent's figures: 4 served, 3 rated (2, 5, 4), 2 satisfied.
	st := m.adminStats()
	g := st.Total
	if g.Served != 4 || g.RatingsTotal != 3 || g.Ratings["2"] != 1 || g.Ratings["4"] != 1 || g.Ratings["5"] != 1 ||
		g.SatisfactionPct == nil || *g.SatisfactionPct != 66.7 || g.ResponseRatePct == nil || *g.ResponseRatePct != 75 {
		t.Fatalf("agent: %+v", g)
	}
	for _, c := range st.Counters {
		want := map[string]float64{"1": 100, "2": 50}[c.Key]
		if c.ResponseRatePct == nil || *c.ResponseRatePct != want {
			t.Errorf("counter %s response rate %v, want %v", c.Key, c.ResponseRatePct, want)
		}
	}

	// The office head's report per officer, and its page.
	var rep queue.OfficersReport
	_, raw := m.call("GET", "admin", "/api/v1/queue/officers?day="+day, nil)
	b, _ := json.Marshal(raw)
	json.Unmarshal(b, &rep)
	got := map[string]string{}
	for _, o := range rep.Officers {
		got[o.ID] = fmt.Sprintf("%s served %d rated %d", o.Name, o.Served, o.RatingsTotal)
	}
	if got["nv01"] != "Nguyễn Thị Lan served 2 rated 2" || got["nv02"] != "Lê Thị Bình served 2 rated 1" {
		t.Errorf("officers: %v", got)
	}
	head := browsertest.Tab(t, officials)
	browsertest.Do(t, head, "officers' report", chromedp.EmulateViewport(1280, 700), chromedp.Navigate(base+"/officers?token="+m.tokens["admin"]),
		browsertest.Poll(`document.querySelectorAll("#rows tr").length === 2`))
	browsertest.FullScreenshot(t, head, "rating-officers-report")
	if text := browsertest.TextContent(t, head, "#rows"); !strings.Contains(text, "Lê Thị Bình") || !strings.Contains(text, "50,0%") {
		t.Errorf("report page: %q", text)
	}

	// Up to the province and on to the nation: the same figures.
	m.ok("POST", "admin", "/api/v1/sync/now", nil)
	want := map[string]int64{vocab.TicketsServed: 4, vocab.Ratings: 3, vocab.RatingsSatisfied: 2}
	q := url.Values{"period": {"day"}, "at": {day}, "province": {province}, "commune": {commune}, "site": {"vinh-phu"}}
	provFigures := waitForFigures(t, chain.province.URL, "tinh", q, want)
	chain.upstream.Trigger()
	nq := url.Values{"period": {"day"}, "at": {day}, "province": {province}}
	natFigures := waitForFigures(t, chain.nation.URL, "quoc-gia", nq, want)
	for where, figs := range map[string]map[string]hub.FigureValue{"province": provFigures, "nation": natFigures} {
		for name, agent := range map[string]*float64{vocab.FigureSatisfaction: g.SatisfactionPct, vocab.FigureResponseRate: g.ResponseRatePct} {
			f := figs[name]
			if f.Value == nil || *f.Value != *agent || f.Text != vocab.LookupFigure(name).Format(*agent) {
				t.Errorf("%s: %s = %+v, the agent says %v", where, name, f, *agent)
			}
		}
	}
	// The province's page and workbook, and the nation's page, in the same words.
	for where, at := range map[string]struct {
		url, token string
		q          url.Values
	}{"province": {chain.province.URL, "tinh", q}, "nation": {chain.nation.URL, "quoc-gia", nq}} {
		qq := url.Values{"token": {at.token}}
		for k, v := range at.q {
			qq[k] = v
		}
		page := pageFigures(t, string(httpGet(t, at.url+"/?"+qq.Encode())))
		qq.Set("format", "xlsx")
		cells := xlsxLabelled(t, httpGet(t, at.url+"/api/v1/report/figures?"+qq.Encode()))
		for name, agent := range map[string]float64{vocab.FigureSatisfaction: *g.SatisfactionPct, vocab.FigureResponseRate: *g.ResponseRatePct} {
			f := vocab.LookupFigure(name)
			if page[f.Label] != f.Format(agent) {
				t.Errorf("%s page: %s = %q, want %q", where, f.Label, page[f.Label], f.Format(agent))
			}
			if where == "province" && cells[f.Label] != strconv.FormatFloat(agent, 'f', -1, 64) {
				t.Errorf("%s workbook: %s = %q, want %v", where, f.Label, cells[f.Label], agent)
			}
		}
	}
}
