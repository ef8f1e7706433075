package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

// morning is a whole morning at the office driven through the real pages in headless
// Chromium: the kiosk, three counter consoles, the display board on a 1080p and a 720p
// screen and the citizens' ticket status pages.
type morning struct {
	t      *testing.T
	a      *App
	base   string
	day    string
	kiosk  context.Context
	boards map[string]context.Context // "1920x1080", "1280x720"
	desks  map[string]context.Context // counter id → console tab
	status context.Context
	issued []int
	moved  map[int]bool // tickets already transferred once
}

func (m *morning) get(role, path string, out any) {
	m.t.Helper()
	req, _ := http.NewRequest("GET", m.base+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+m.a.Tokens[web.Role(role)])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		m.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		m.t.Fatalf("GET %s: %v", path, err)
	}
}

type snapTicket struct {
	Number  int    `json:"number"`
	State   string `json:"state"`
	Counter string `json:"counter"`
	Service string `json:"service"`
}

type snapshot struct {
	Waiting  []snapTicket          `json:"waiting"`
	Current  map[string]snapTicket `json:"current"`
	Paused   map[string]bool       `json:"paused"`
	Counters []struct {
		ID string `json:"id"`
	} `json:"counters"`
}

func (m *morning) snapshot() snapshot {
	var s snapshot
	m.get("counter", "/api/v1/queue", &s)
	return s
}

func (m *morning) lastSeq() int64 {
	var h struct {
		LastSeq int64 `json:"last_seq"`
	}
	m.get("", "/healthz", &h)
	return h.LastSeq
}

// take draws one ticket at the kiosk: with the priority button, after an ID card of an
// old citizen was read at the kiosk's station, or plainly.
func (m *morning) take(service string, button, card bool) int {
	t := m.t
	t.Helper()
	if card {
		born := time.Now().AddDate(-80, 0, 0).Format("02/01/2006")
		m.a.Bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "kiosk-1", Outcome: "ok"},
			Personal: identity.Person{Birth: born}})
		browsertest.Do(t, m.kiosk, "card read notice", chromedp.WaitVisible(chromedp.CSS("#card .k-card")))
	}
	if button {
		browsertest.Do(t, m.kiosk, "priority button", chromedp.Click(chromedp.CSS("#prio")), browsertest.Poll(`document.getElementById("prio").getAttribute("aria-pressed") === "true"`))
	}
	browsertest.Do(t, m.kiosk, "take a number "+service, browsertest.Click(`button[data-service="`+service+`"]`), chromedp.WaitVisible(chromedp.CSS("#ticket-number")))
	var n int
	fmt.Sscan(browsertest.TextContent(t, m.kiosk, "#ticket-number"), &n)
	prio := browsertest.Eval[bool](t, m.kiosk, `!!document.getElementById("ticket-prio")`)
	if prio != (button || card) {
		t.Fatalf("ticket %d priority %v, want %v", n, prio, button || card)
	}
	ahead := browsertest.TextContent(t, m.kiosk, "#ticket-ahead")
	if strings.Contains(ahead, "khoảng 0 phút") {
		t.Fatalf("kiosk says %q", ahead)
	}
	where := browsertest.TextContent(t, m.kiosk, "#ticket-where")
	if service == "B" && where != "Nơi phục vụ: Quầy 2 (Tầng 1, bên trái) · Quầy 3 (Tầng 1, bên phải)" {
		t.Fatalf("counters of service B: %q", where)
	}
	browsertest.Do(t, m.kiosk, "slip closed", chromedp.Click(chromedp.CSS("#slip-done")), chromedp.WaitNotVisible(chromedp.CSS("#overlay")))
	m.issued = append(m.issued, n)
	return n
}

// press clicks a console button and waits until the agent recorded something (or, for
// "next", until the console offers a choice or says nobody waits).
func (m *morning) press(counter, id string) {
	t := m.t
	t.Helper()
	before := m.lastSeq()
	ctx := m.desks[counter]
	browsertest.Do(t, ctx, "counter "+counter+" "+id, chromedp.Click(chromedp.CSS("#"+id)))
	answered := false // "next" with a choice to make, or nobody waiting
	testkit.Eventually(t, 20*time.Second, func() bool {
		if m.lastSeq() != before {
			return true
		}
		answered = id == "next" && browsertest.Eval[bool](t, ctx, `!document.getElementById("choice").hidden || !!document.querySelector("#msg .error")`)
		return answered
	}, "counter %s: %s to record something%s", counter, id, func() string {
		browsertest.FullScreenshot(t, ctx, "failed-press-"+counter+"-"+id)
		return ""
	})
	if answered {
		return
	}
	// The console has caught up (it refreshes on the stream): it shows the counter's
	// ticket and pause as the queue has them, so the next press acts on them.
	testkit.Eventually(t, 10*time.Second, func() bool {
		s := m.snapshot()
		cur, pause := "—", "Tạm dừng"
		if c, ok := s.Current[counter]; ok {
			cur = strconv.Itoa(c.Number)
		}
		if s.Paused[counter] {
			pause = "Tiếp tục"
		}
		return browsertest.Eval[bool](t, ctx, fmt.Sprintf(`document.getElementById("current").textContent === %q && document.getElementById("pause").textContent === %q`, cur, pause))
	}, "counter %s's console to show the queue's state", counter)
}

// visit is one thing an official does at a counter, chosen by the ticket open there.
func (m *morning) visit(counter string, round int) {
	t := m.t
	s := m.snapshot()
	cur, open := s.Current[counter]
	if counter == "3" && (round/3)%4 == 1 && !s.Paused["3"] {
		// The official of counter 3 steps away: whatever is open is finished first.
		if open && cur.State == "called" {
			m.press(counter, "start")
		}
		m.press(counter, "pause")
		// press returns at the first new event, which may be the demo scanner's scan:
		// wait for the pause itself.
		testkit.Eventually(t, 10*time.Second, func() bool { return m.snapshot().Paused["3"] }, "counter 3 to pause")
		return
	}
	if !open {
		m.press(counter, "next")
		return
	}
	switch cur.Number % 5 {
	case 0: // served: start, finish
		m.press(counter, "start")
		m.press(counter, "finish")
	case 1: // never came: two recalls, then "next" marks it absent
		m.press(counter, "recall")
		m.press(counter, "recall")
		m.press(counter, "next")
		if got := m.ticketState(cur.Number); got != "noshow" {
			t.Fatalf("ticket %d after two recalls and next: %s", cur.Number, got)
		}
	case 2: // "next" with a called ticket is ambiguous: the console asks, the official says served
		m.press(counter, "next")
		browsertest.Do(t, m.desks[counter], "choice offered", chromedp.WaitVisible(chromedp.CSS("#choice-finish")))
		m.press(counter, "choice-finish")
		if got := m.ticketState(cur.Number); got != "done" {
			t.Fatalf("ticket %d after choosing finished: %s", cur.Number, got)
		}
	case 3: // sent to another service once
		if !m.moved[cur.Number] {
			m.moved[cur.Number] = true
			to := map[string]string{"A": "B", "B": "A", "C": "B"}[cur.Service]
			browsertest.Do(t, m.desks[counter], "choose service", chromedp.SetValue(chromedp.CSS("#to-service"), to))
			m.press(counter, "transfer")
			return
		}
		m.press(counter, "start")
		m.press(counter, "finish")
	case 4: // served, then "next" finishes it
		m.press(counter, "start")
		m.press(counter, "next")
		if got := m.ticketState(cur.Number); got != "done" {
			t.Fatalf("ticket %d served then next: %s", cur.Number, got)
		}
	}
}

func (m *morning) ticketState(n int) string {
	var r struct{ Ticket snapTicket }
	m.get("", fmt.Sprintf("/api/v1/tickets/%d", n), &r)
	return r.Ticket.State
}

// check is what must hold after every step of the morning.
func (m *morning) check(step string) {
	t := m.t
	t.Helper()
	s := m.snapshot()
	// No ticket stays called or served at a counter that has moved on.
	for _, n := range m.issued {
		var r struct{ Ticket snapTicket }
		m.get("", fmt.Sprintf("/api/v1/tickets/%d", n), &r)
		if r.Ticket.State == "called" || r.Ticket.State == "serving" {
			if c := s.Current[r.Ticket.Counter]; c.Number != n {
				t.Fatalf("%s: ticket %d is %s at counter %s, which has moved on to %d", step, n, r.Ticket.State, r.Ticket.Counter, c.Number)
			}
		}
	}
	// Each board shows every counter's open ticket, and fits its screen.
	var want []string
	for _, c := range s.Counters {
		num := ""
		if cur, ok := s.Current[c.ID]; ok {
			num = fmt.Sprint(cur.Number)
		}
		want = append(want, c.ID+"="+num)
	}
	tiles := `[...document.querySelectorAll(".b-tile")].map(e => e.dataset.counter + "=" + e.dataset.number).join(",")`
	for size, ctx := range m.boards {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(tctx, browsertest.Poll(tiles+` === `+fmt.Sprintf("%q", strings.Join(want, ","))))
		cancel()
		if err != nil {
			browsertest.FullScreenshot(t, ctx, "failed-board-"+size)
			t.Fatalf("%s: board %s shows %s, want %s", step, size, browsertest.Eval[string](t, ctx, tiles), strings.Join(want, ","))
		}
		// The big number invites a ticket still open at a counter, or nobody.
		openNums := []string{`"—"`}
		for _, w := range want {
			if _, n, _ := strings.Cut(w, "="); n != "" {
				openNums = append(openNums, `"`+n+`"`)
			}
		}
		tctx, cancel = context.WithTimeout(ctx, 20*time.Second)
		err = chromedp.Do(tctx, browsertest.Poll(`[`+strings.Join(openNums, ",")+`].includes(document.getElementById("now-number").textContent)`))
		cancel()
		if err != nil {
			browsertest.FullScreenshot(t, ctx, "failed-board-now-"+size)
			t.Fatalf("%s: board %s invites %s, open are %v", step, size, browsertest.Eval[string](t, ctx, `document.getElementById("now-number").textContent`), openNums)
		}
		fit := browsertest.Eval[string](t, ctx, boardFits)
		if fit != "" {
			browsertest.FullScreenshot(t, ctx, "failed-board-fit-"+size)
			t.Fatalf("%s: board %s does not fit: %s", step, size, fit)
		}
	}
	// A citizen's status page agrees with the board: each counter's ticket is told to go there.
	for _, c := range s.Counters {
		cur, ok := s.Current[c.ID]
		if !ok || (cur.Number+len(m.issued))%3 != 0 { // a third of them, in turn
			continue
		}
		browsertest.Do(t, m.status, "status page", chromedp.Navigate(fmt.Sprintf("%s/ticket?n=%d&d=%s", m.base, cur.Number, m.day)),
			browsertest.Poll(`document.getElementById("detail").textContent.length > 0`))
		if got, want := browsertest.TextContent(t, m.status, "#detail"), "Mời ông/bà đến quầy số "+c.ID; got != want {
			t.Fatalf("%s: status page of %d says %q, the board says counter %s", step, cur.Number, got, c.ID)
		}
	}
	m.statsEqualEvents(step)
}

// boardFits is "" when the board needs no scrolling and every part of it is whole on
// the screen, else what sticks out.
const boardFits = `(() => {
  const W = innerWidth, H = innerHeight, d = document.documentElement, out = [];
  if (d.scrollHeight > H) out.push("document height " + d.scrollHeight + " > " + H);
  if (d.scrollWidth > W) out.push("document width " + d.scrollWidth + " > " + W);
  for (const sel of [".b-head", ".b-now", ".b-tile", ".b-recent li", ".b-waiting", ".b-notice", "#clock", ".b-svc b"]) {
    for (const e of document.querySelectorAll(sel)) {
      const r = e.getBoundingClientRect();
      if (r.bottom > H + 0.5 || r.right > W + 0.5 || r.top < -0.5) out.push(sel + " outside the screen");
      const box = e.closest(".b-tiles, .b-recent");
      if (box && e !== box) { const b = box.getBoundingClientRect(); if (r.bottom > b.bottom + 0.5) out.push(sel + " cut off"); }
      if (sel === ".b-tile" && e.querySelector(".b-tile-number").scrollWidth > e.clientWidth + 1) out.push("tile number too wide");
    }
  }
  return out.join("; ");
})()`

// statsEqualEvents: the day's figures equal the recorded events and the daily counters.
func (m *morning) statsEqualEvents(step string) {
	t := m.t
	t.Helper()
	var st struct {
		Total struct {
			Issued, Served, WaitingNow int
			NoShows                    int `json:"no_shows"`
		}
	}
	m.get("counter", "/api/v1/queue/stats", &st)
	kinds := map[string]int{}
	var since int64
	for {
		var evs []struct {
			Seq  int64
			Kind string
		}
		m.get("admin", fmt.Sprintf("/api/v1/events?since=%d", since), &evs)
		for _, e := range evs {
			kinds[e.Kind]++
			since = e.Seq
		}
		if len(evs) < 500 {
			break
		}
	}
	var cs struct {
		Counters []struct {
			Metric string
			Value  int64
		}
	}
	m.get("counter", "/api/v1/counters?day="+m.day, &cs)
	metric := map[string]int64{}
	for _, c := range cs.Counters {
		metric[c.Metric] += c.Value
	}
	if st.Total.Issued != len(m.issued) || st.Total.Issued != kinds["queue.ticket.issued"] || int64(st.Total.Issued) != metric[vocab.TicketsIssued] {
		t.Fatalf("%s: issued: kiosk %d, stats %d, events %d, counter %d", step, len(m.issued), st.Total.Issued, kinds["queue.ticket.issued"], metric[vocab.TicketsIssued])
	}
	if st.Total.Served != kinds["queue.ticket.finished"] || int64(st.Total.Served) != metric[vocab.TicketsServed] {
		t.Fatalf("%s: served: stats %d, events %d, counter %d", step, st.Total.Served, kinds["queue.ticket.finished"], metric[vocab.TicketsServed])
	}
	if st.Total.NoShows != kinds["queue.ticket.noshow"] || int64(st.Total.NoShows) != metric[vocab.TicketsNoShow] {
		t.Fatalf("%s: no-shows: stats %d, events %d, counter %d", step, st.Total.NoShows, kinds["queue.ticket.noshow"], metric[vocab.TicketsNoShow])
	}
}

// forbidden are raw codes, English words and off-style spellings that must never be
// visible on a page a person reads.
func forbidden() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, d := range vocab.Metrics() {
		out = append(out, regexp.MustCompile(regexp.QuoteMeta(d.Name)))
	}
	for _, w := range []string{`cccd-20\d\d`, `already_inside`, `TB / p90`, `\bp90\b`, `\bundefined\b`, `\bnull\b`, `\bNaN\b`,
		`\[object`, `\b(waiting|called|serving|noshow|cancelled|finished|issued)\b`, `\b(Error|error|Loading|Next|Recall|Cancel)\b`,
		`(^|\P{L})(huỷ|hoá|hoà|thuỷ|khoẻ|tuỳ)($|\P{L})`, `(^|\P{L})bạn($|\P{L})`, `[Qq]uý khách`, `khoảng 0 phút`, `\d{4}-\d{2}-\d{2}`, `\d+s trước`, // vistyle:ignore (the words it forbids)
		`\d+\.\d+ (phút|giây|giờ)`, `(^|[^\d.])\d+\.\d{1,2}($|[^\d.])`, `Dịch vụ: [A-Z]\b`} {
		out = append(out, regexp.MustCompile(w))
	}
	return out
}

func checkWords(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, re := range forbidden() {
		if loc := re.FindStringIndex(body); loc != nil {
			t.Errorf("%s shows %q (rule %s) in: %q", page, body[loc[0]:loc[1]], re,
				strings.ToValidUTF8(body[max(0, loc[0]-60):min(len(body), loc[1]+60)], ""))
		}
	}
}

// fileOnlyPrinter prints tickets to a file: the morning is about the pages, and the
// simulated printer's decoding (TestQueueEndToEnd covers it) is slow under -race.
func fileOnlyPrinter(t *testing.T, c *config.Config) {
	c.Printer.Transport = "file"
	c.Printer.Device = filepath.Join(t.TempDir(), "printer.bin")
}

func TestQueueWholeMorning(t *testing.T) {
	notice := "Giờ làm việc: sáng 7:30 – 11:30, chiều 13:30 – 17:00 (thứ Hai đến thứ Sáu)"
	a, base := startDemoAgent(t, func(c *config.Config) {
		c.Queue.Notices = []string{notice}
		fileOnlyPrinter(t, c)
	})
	// Two browsers, as in the office (the hall's screens, the officials' PCs): a browser
	// opens at most six connections to one server, and every page holds one open for
	// its event stream.
	flags := []chromedp.ExecAllocatorOption{chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true), chromedp.Flag("disable-backgrounding-occluded-windows", true)}
	bctx, officials := browser(t, flags...), browser(t, flags...)
	m := &morning{t: t, a: a, base: base, day: a.Store.Day(time.Now()), boards: map[string]context.Context{},
		desks: map[string]context.Context{}, moved: map[int]bool{}}
	tok := a.Tokens
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1920x1080", 1920, 1080}, {"1280x720", 1280, 720}} {
		ctx := browsertest.Tab(t, bctx)
		browsertest.Do(t, ctx, "board "+size.name, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/display?token="+tok["display"]),
			browsertest.Poll(`document.querySelectorAll(".b-tile").length === 3`))
		m.boards[size.name] = ctx
	}
	m.kiosk = browsertest.Tab(t, bctx)
	browsertest.Do(t, m.kiosk, "kiosk", chromedp.EmulateViewport(1280, 1024), chromedp.Navigate(base+"/kiosk?station=kiosk-1&token="+tok["kiosk"]),
		chromedp.WaitVisible(chromedp.CSS(`button[data-service="C"]`)))
	// Nobody waits yet: the kiosk says so, and promises no minutes.
	if got := browsertest.TextContent(t, m.kiosk, `button[data-service="A"] .k-wait`); !strings.Contains(got, "Ông/bà sẽ được gọi ngay") {
		t.Fatalf("empty queue on the kiosk: %q", got)
	}
	for _, id := range []string{"1", "2", "3"} {
		ctx := browsertest.Tab(t, officials)
		browsertest.Do(t, ctx, "console "+id, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/counter?counter="+id+"&token="+tok["counter"]),
			browsertest.Poll(`document.getElementById("counter").value === "`+id+`"`))
		m.desks[id] = ctx
	}
	m.status = browsertest.Tab(t, bctx)

	services := []string{"A", "B", "C", "A", "B"}
	round := 0
	for i := 0; i < 40; i++ {
		m.take(services[i%len(services)], i%7 == 3, i%11 == 5)
		m.check(fmt.Sprintf("ticket %d", i+1))
		if i >= 4 && i%2 == 1 {
			counter := fmt.Sprint(round%3 + 1)
			m.visit(counter, round)
			round++
			m.check(fmt.Sprintf("visit %d at counter %s", round, counter))
		}
	}
	// The rest of the morning: the counters work until everyone has been seen.
	for ; round < 400; round++ {
		s := m.snapshot()
		if len(s.Waiting) == 0 && len(s.Current) == 0 {
			break
		}
		counter := fmt.Sprint(round%3 + 1)
		if len(s.Waiting) == 0 && s.Current[counter].Number == 0 {
			continue
		}
		m.visit(counter, round)
		m.check(fmt.Sprintf("visit %d at counter %s", round+1, counter))
	}
	s := m.snapshot()
	if len(s.Waiting) != 0 || len(s.Current) != 0 {
		t.Fatalf("the morning did not end: %+v", s)
	}
	// Every ticket ended: served or absent, each counted once.
	var st struct {
		Total struct {
			Issued, Served int
			NoShows        int `json:"no_shows"`
		}
	}
	m.get("counter", "/api/v1/queue/stats", &st)
	if st.Total.Issued != 40 || st.Total.Served+st.Total.NoShows != 40 || st.Total.NoShows == 0 {
		t.Fatalf("end of the morning: %+v", st.Total)
	}
	t.Logf("40 tickets in %d counter visits: %d served, %d absent", round, st.Total.Served, st.Total.NoShows)

	// Every page in its final state: the notice is on the boards, no page shows a raw
	// code or an English word, and each is photographed.
	for size, ctx := range m.boards {
		browsertest.Do(t, ctx, "notice on the board", browsertest.Poll(`document.getElementById("notice").textContent === `+fmt.Sprintf("%q", notice)))
		checkWords(t, ctx, "board "+size)
		browsertest.FullScreenshot(t, ctx, "morning-board-"+size)
	}
	checkWords(t, m.kiosk, "kiosk")
	browsertest.FullScreenshot(t, m.kiosk, "morning-kiosk")
	browsertest.Do(t, m.kiosk, "kiosk with a ticket", browsertest.Click("#prio"), browsertest.Click(`button[data-service="B"]`), chromedp.WaitVisible(chromedp.CSS("#ticket-number")))
	checkWords(t, m.kiosk, "kiosk ticket")
	browsertest.FullScreenshot(t, m.kiosk, "morning-kiosk-ticket")
	browsertest.Do(t, m.kiosk, "slip closed", chromedp.Click(chromedp.CSS("#slip-done")), chromedp.Click(chromedp.CSS("#contrast")))
	browsertest.FullScreenshot(t, m.kiosk, "morning-kiosk-contrast")
	// Left alone, the kiosk rests; a touch wakes it and takes no number.
	issuedBefore := len(m.issued) + 1 // and the one drawn above
	browsertest.Do(t, m.kiosk, "contrast off", chromedp.Click(chromedp.CSS("#contrast")))
	browsertest.Eval[bool](t, m.kiosk, `goIdle(), true`)
	browsertest.Do(t, m.kiosk, "kiosk idle", chromedp.WaitVisible(chromedp.CSS("#idle")))
	checkWords(t, m.kiosk, "kiosk idle")
	browsertest.FullScreenshot(t, m.kiosk, "morning-kiosk-idle")
	browsertest.Do(t, m.kiosk, "kiosk wakes", chromedp.Click(chromedp.CSS("#idle")), chromedp.WaitNotVisible(chromedp.CSS("#idle")))
	var after struct{ Total struct{ Issued int } }
	m.get("counter", "/api/v1/queue/stats", &after)
	if after.Total.Issued != issuedBefore {
		t.Fatalf("waking the kiosk issued a ticket: %d issued, want %d", after.Total.Issued, issuedBefore)
	}
	for id, ctx := range m.desks {
		checkWords(t, ctx, "console "+id)
		browsertest.FullScreenshot(t, ctx, "morning-console-"+id)
	}
	browsertest.Do(t, m.status, "status page", chromedp.Navigate(fmt.Sprintf("%s/ticket?n=%d&d=%s", base, m.issued[0], m.day)),
		browsertest.Poll(`document.getElementById("state").textContent.length > 0`))
	checkWords(t, m.status, "status page")
	browsertest.FullScreenshot(t, m.status, "morning-ticket-status")
	dash := browsertest.Tab(t, officials)
	browsertest.Do(t, dash, "dashboard", chromedp.Navigate(base+"/?token="+tok["admin"]), browsertest.Poll(`document.getElementById("status").textContent.includes("Hàng chờ")`))
	checkWords(t, dash, "dashboard")
	browsertest.FullScreenshot(t, dash, "morning-dashboard")

	// A board opened without its token says so plainly (another origin: no stored token).
	bare := browsertest.Tab(t, bctx)
	browsertest.Do(t, bare, "board without token", chromedp.EmulateViewport(1280, 720),
		chromedp.Navigate(strings.Replace(base, "127.0.0.1", "localhost", 1)+"/display"), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if got := browsertest.TextContent(t, bare, "#problem"); !strings.Contains(got, "chưa có mã truy cập") {
		t.Fatalf("board without token says %q", got)
	}
	browsertest.FullScreenshot(t, bare, "morning-board-no-token")
}

// A big hall: twelve counters, six services with long names, a long notice, every
// counter calling. The board still fits 1080p and 720p with every tile whole.
func TestDisplayBoardFitsABigHall(t *testing.T) {
	a, base := startDemoAgent(t, func(c *config.Config) {
		fileOnlyPrinter(t, c)
		c.Queue.Services = nil
		for i := 0; i < 6; i++ {
			c.Queue.Services = append(c.Queue.Services, config.QueueService{Code: fmt.Sprintf("S%d", i+1),
				Name:  fmt.Sprintf("Thủ tục hành chính lĩnh vực số %d: đất đai, xây dựng, hộ tịch, chứng thực bản sao", i+1),
				First: (i+1)*1000 + 1, Last: (i+1)*1000 + 999, Weight: 1})
		}
		c.Queue.Counters = nil
		for i := 0; i < 12; i++ {
			c.Queue.Counters = append(c.Queue.Counters, config.QueueCounter{ID: fmt.Sprint(i + 1),
				Location: "Tầng 2, dãy bên phải", Services: []string{fmt.Sprintf("S%d", i%6+1)}})
		}
		c.Queue.Notices = []string{strings.Repeat("Công dân mang theo thẻ Căn cước và giấy tờ liên quan khi làm thủ tục. ", 5)}
	})
	bctx := browser(t)
	post := func(path, body, role string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.Tokens[web.Role(role)])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	for i := 0; i < 30; i++ {
		post("/api/v1/tickets", fmt.Sprintf(`{"service":"S%d"}`, i%6+1), "kiosk")
	}
	for i := 1; i <= 12; i++ {
		post(fmt.Sprintf("/api/v1/counters/%d/next", i), "", "counter")
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1920x1080", 1920, 1080}, {"1280x720", 1280, 720}} {
		ctx := browsertest.Tab(t, bctx)
		browsertest.Do(t, ctx, "board "+size.name, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/display?token="+a.Tokens["display"]),
			browsertest.Poll(`[...document.querySelectorAll(".b-tile")].filter(e => e.dataset.number).length === 12`))
		if fit := browsertest.Eval[string](t, ctx, boardFits); fit != "" {
			browsertest.FullScreenshot(t, ctx, "failed-big-hall-"+size.name)
			t.Fatalf("board %s does not fit a big hall: %s", size.name, fit)
		}
		checkWords(t, ctx, "board "+size.name)
		browsertest.FullScreenshot(t, ctx, "big-hall-board-"+size.name)
	}
}
