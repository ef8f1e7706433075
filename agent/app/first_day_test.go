package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/health"
	"motcua-agent/agent/queue"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/display"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

// The first day at an office, one citizen's ticket through every screen it meets, in
// headless Chromium on the demo config: the kiosk issues it, its status page follows
// it, counter 2 calls it (the board shows it, speaks the whole call-out and its sound
// is on at the dashboard), counter 2 sends it to counter 3 (the status page then says
// it is next there, the board drops it from counter 2), counter 3 calls, serves and
// finishes it, and the dashboard's figures and report count the day. The gate at and
// after closing time is TestFirstDayGateAtClosing below; the clinic desk clearing what
// it showed (the typed fields after the look-up, the patient after half an hour) is
// agent/clinic's TestReceptionPageInChromium; a whole morning of 40 tickets at three
// counters is TestQueueWholeMorning; the consoles' messages and the pages with the agent
// gone, TestPagesSayWhatHappened.
func TestFirstDay(t *testing.T) {
	a, base := startDemoAgent(t, func(c *config.Config) { fileOnlyPrinter(t, c) })
	tok := a.Tokens
	day := a.Store.Day(time.Now())
	// Two browsers, as in the office: the hall's screens and the officials' PCs.
	hall, officials := browser(t), browser(t)
	step := func(ctx context.Context) context.Context { return browsertest.WithStepTimeout(ctx, 20*time.Second) }
	board, kiosk, status := step(browsertest.Tab(t, hall)), step(browsertest.Tab(t, hall)), step(browsertest.Tab(t, hall))
	desk2, desk3, dash := step(browsertest.Tab(t, officials)), step(browsertest.Tab(t, officials)), step(browsertest.Tab(t, officials))

	// The board opens first, as at 7:25: its sound is on, and the dashboard says so.
	browsertest.Do(t, board, "board", chromedp.EmulateViewport(1920, 1080), chromedp.Navigate(base+"/display?token="+tok["display"]),
		browsertest.Poll(`document.querySelectorAll(".b-tile").length === 3`))
	var sound health.Device
	testkit.Eventually(t, 20*time.Second, func() bool {
		sound, _ = a.Health.Get(queue.BoardSoundDevice)
		return sound.State == health.OK
	}, "the board's sound on the dashboard: %+v", &sound)

	post := func(path, body, role string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok[web.Role(role)])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	// Someone for counter 3 already waits (service C, counter 3 only).
	post("/api/v1/tickets", `{"service":"C"}`, "kiosk")

	// The citizen takes a number for "Đất đai, xây dựng" (counters 2 and 3).
	browsertest.Do(t, kiosk, "kiosk", chromedp.EmulateViewport(1280, 1024), chromedp.Navigate(base+"/kiosk?token="+tok["kiosk"]),
		browsertest.Click(`button[data-service="B"]`), chromedp.WaitVisible("#ticket-number"))
	number := browsertest.TextContent(t, kiosk, "#ticket-number")
	if number != "2001" {
		t.Fatalf("the first ticket of service B is %q", number)
	}
	if where := browsertest.TextContent(t, kiosk, "#ticket-where"); !strings.Contains(where, "Quầy 2") || !strings.Contains(where, "Quầy 3") {
		t.Errorf("the kiosk's slip says %q", where)
	}
	checkWords(t, kiosk, "kiosk slip")
	browsertest.Screenshot(t, kiosk, "day-1-kiosk-slip")
	browsertest.Do(t, kiosk, "slip closed", chromedp.Click("#slip-done"), chromedp.WaitNotVisible("#overlay"))
	post("/api/v1/tickets", `{"service":"B"}`, "kiosk") // the next citizen, behind

	// Its status page: waiting, first in line for counters 2 and 3.
	statusPage := func(what string) string {
		t.Helper()
		browsertest.Do(t, status, "status page: "+what, chromedp.Navigate(fmt.Sprintf("%s/ticket?n=%s&d=%s", base, number, day)),
			browsertest.Poll(`document.getElementById("detail").textContent.length > 0`))
		checkWords(t, status, "status page: "+what)
		return browsertest.TextContent(t, status, "#detail")
	}
	if got := statusPage("waiting"); !strings.HasPrefix(got, "Ông/bà sẽ được gọi ngay") || !strings.Contains(got, "Quầy 2") {
		t.Errorf("the waiting ticket's page says %q", got)
	}

	// Counter 2 calls it.
	console := func(ctx context.Context, counter string) {
		browsertest.Do(t, ctx, "console "+counter, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/counter?counter="+counter+"&token="+tok["counter"]),
			browsertest.Poll(`document.getElementById("counter").value === "`+counter+`"`))
	}
	press := func(ctx context.Context, button, want string) {
		t.Helper()
		browsertest.Eval[string](t, ctx, `document.getElementById("msg").innerHTML = ""`)
		browsertest.Do(t, ctx, button, chromedp.Click(button), chromedp.WaitVisible("#msg > div"))
		if got := browsertest.Text(t, ctx, "#msg"); got != want {
			t.Errorf("after %s the console says %q, want %q", button, got, want)
		}
	}
	console(desk2, "2")
	console(desk3, "3")
	press(desk2, "#next", "Đã gọi số "+number+".")

	// The board shows the call, speaks all of it, and the tile of counter 2 holds it.
	callOut := func(counter string) {
		t.Helper()
		clips, err := display.CallClips(2001, counter)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join(clips, ",")
		browsertest.Do(t, board, "call-out at counter "+counter,
			browsertest.Poll(`window.playedClips.join(",").includes(`+fmt.Sprintf("%q", want)+`)`),
			browsertest.Poll(`[...document.querySelectorAll(".b-tile")].some(e => e.dataset.counter === "`+counter+`" && e.dataset.number === "`+number+`")`))
		now := browsertest.Eval[string](t, board, `document.getElementById("now").innerText`)
		if !regexp.MustCompile(`Mời số\s+` + number + `\s+Quầy ` + counter).MatchString(now) {
			t.Errorf("the board's call-out reads %q, want Mời số %s · Quầy %s", now, number, counter)
		}
		if words := display.Words(clips); !strings.HasPrefix(words, "mời công dân có số thứ tự") && !strings.HasPrefix(words, "Mời công dân có số thứ tự") {
			t.Errorf("the call-out's words: %q", words)
		}
		if vis := browsertest.Eval[bool](t, board, `!document.getElementById("enable-sound").hidden`); vis {
			t.Error("a board allowed to play (the guide's setting) shows the sound button")
		}
	}
	callOut("2")
	browsertest.Screenshot(t, board, "day-2-board-called-at-2")
	if got := statusPage("called"); got != "Mời ông/bà đến quầy số 2" {
		t.Errorf("the called ticket's page says %q", got)
	}

	// Counter 2 sends it to counter 3, where it is called next; its page says so, and
	// the board no longer shows it at counter 2.
	browsertest.Do(t, desk2, "to counter 3", chromedp.SetValue("#to-counter", "3"))
	browsertest.Eval[string](t, desk2, `document.getElementById("msg").innerHTML = ""`)
	browsertest.Do(t, desk2, "transfer", chromedp.Click("#transfer"), chromedp.WaitVisible("#msg > div"))
	if got := browsertest.Text(t, desk2, "#msg"); got != "Đã chuyển số "+number+" sang Quầy 3." {
		t.Errorf("after the transfer the console says %q", got)
	}
	browsertest.Screenshot(t, desk2, "day-3-console-2-after-transfer")
	got := statusPage("transferred")
	if !strings.HasPrefix(got, "Ông/bà sẽ được gọi ngay") || !strings.Contains(got, "Quầy 3") || strings.Contains(got, "Quầy 2") {
		t.Errorf("the transferred ticket's page says %q: want it next, at counter 3", got)
	}
	browsertest.Screenshot(t, status, "day-4-status-transferred")
	browsertest.Do(t, board, "board drops counter 2's call",
		browsertest.Poll(`[...document.querySelectorAll(".b-tile")].every(e => e.dataset.number !== "`+number+`")`),
		browsertest.Poll(`document.getElementById("now-number").textContent !== "`+number+`"`))
	browsertest.Screenshot(t, board, "day-5-board-after-transfer")

	// Counter 3 calls it (before the C ticket that waited longer), serves and finishes.
	press(desk3, "#next", "Đã gọi số "+number+".")
	callOut("3")
	if got := statusPage("called at 3"); got != "Mời ông/bà đến quầy số 3" {
		t.Errorf("the ticket called at counter 3: its page says %q", got)
	}
	press(desk3, "#start", "Đang phục vụ số "+number+".")
	press(desk3, "#finish", "Đã phục vụ xong số "+number+".")
	browsertest.Screenshot(t, desk3, "day-6-console-3-finished")
	browsertest.Do(t, board, "board after the finish",
		browsertest.Poll(`[...document.querySelectorAll(".b-tile")].every(e => e.dataset.number !== "`+number+`")`))
	browsertest.Do(t, status, "status page done", chromedp.Reload(), browsertest.Poll(`document.getElementById("state").textContent.length > 0`))
	if got := browsertest.TextContent(t, status, "#detail"); got != "" {
		t.Errorf("a finished ticket's page still says %q", got)
	}
	checkWords(t, board, "board")

	// The day's figures: three tickets, one served, one transfer, two still waiting.
	browsertest.Do(t, dash, "dashboard", chromedp.EmulateViewport(1280, 1400), chromedp.Navigate(base+"/?token="+tok["admin"]),
		browsertest.Poll(`document.getElementById("status").innerText.includes("Số phiếu đã phát")`),
		browsertest.Poll(`document.getElementById("charts").innerText.includes("Số phiếu đã phát theo giờ")`))
	figures := browsertest.Eval[string](t, dash, `document.getElementById("status").innerText`)
	for label, want := range map[string]string{"Số phiếu đã phát": "3", "Đã phục vụ": "1", "Đã chuyển dịch vụ hoặc quầy (lượt)": "1", "Đang chờ": "2"} {
		if m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `\s+(\S+)`).FindStringSubmatch(figures); m == nil || m[1] != want {
			t.Errorf("the dashboard's %q: %v, want %s", label, m, want)
		}
	}
	if sound := browsertest.Eval[string](t, dash, `document.getElementById("devices").innerText`); !strings.Contains(sound, "Loa của 1 màn hình gọi số đã bật") {
		t.Errorf("the dashboard's devices do not say the board's sound is on: %q", sound)
	}
	if rep := browsertest.Eval[string](t, dash, `document.getElementById("charts").innerHTML`); !strings.Contains(rep, ": 3</title>") {
		t.Errorf("the day's report does not count 3 tickets: %.400s", rep)
	}
	checkWords(t, dash, "dashboard")
	browsertest.FullScreenshot(t, dash, "day-7-dashboard-report")
}

// gateSite is a tourist site's gate with a simulated entry and exit lane.
const gateSite = `profile: gate
site: {province_code: "40", commune_code: "17866", id: kim-lien, name: Khu di tích Kim Liên, device_id: cong-1}
http:
  listen: LISTEN
  tokens: {admin: admin-token-0123456789, counter: counter-token-0123456789, display: display-token-012345678, kiosk: kiosk-token-0123456789}
simulate: true
gate:
  enabled: true
  capacity: 10
  lanes:
    - {name: vao, title: Cổng vào, direction: entry}
    - {name: ra, title: Cổng ra, direction: exit, relay: {board: lcus}}
`

// The gate's screen at and after closing time (closing at 17:30, the clock the
// agent's): at 17:29 a visitor is let in; from 17:30 the entry lane's screen says the
// site is closed before anyone scans, a visitor is refused with the reason and not
// counted in; at 18:01 still so. The dashboard of a site with no queue shows no queue report.
func TestFirstDayGateAtClosing(t *testing.T) {
	browsertest.Path(t)
	dir := t.TempDir()
	text := strings.Replace(gateSite, "LISTEN", freeAddr(t), 1) + "  opening_time: \"07:00\"\n  closing_time: \"17:30\"\n"
	cfg, err := config.Parse([]byte(text), filepath.Join(dir, "gate.yaml"), config.Overrides{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location()
	clock := testkit.NewClock(time.Date(2026, 7, 4, 17, 29, 0, 0, loc))
	serveApp(t, cfg, func(a *App) { a.Now = clock.Now })
	base := "http://" + cfg.HTTP.Listen

	scan := func(n int) {
		t.Helper()
		qr := fmt.Sprintf("0010990123%02d||Nguyễn Văn An|01021990|Nam|Hà Nội|15062021", n)
		req, _ := http.NewRequest("POST", base+"/api/v1/gate/lanes/vao/simulate", strings.NewReader(`{"payload":"`+qr+`"}`))
		req.Header.Set("Authorization", "Bearer admin-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("simulated scan: %s", resp.Status)
		}
	}
	lane := browsertest.WithStepTimeout(browser(t), 20*time.Second)
	open := func(what string) {
		browsertest.Do(t, lane, what, chromedp.Navigate(base+"/gate/lane?lane=vao&token=display-token-012345678"),
			browsertest.Poll(`document.getElementById("title").textContent === "Cổng vào"`))
	}
	// The page listens on the event stream: scan until its subscription shows the decision.
	decision := func(n int, class string) {
		t.Helper()
		testkit.Eventually(t, 30*time.Second, func() bool {
			scan(n)
			_, err := browsertest.Run(lane, browsertest.Poll(`document.getElementById("panel").className === "`+class+`"`, chromedp.WithPollingTimeout(2*time.Second)))
			return err == nil
		}, "the lane's screen to show %s", class)
	}
	open("lane at 17:29")
	browsertest.Do(t, lane, "open at 17:29", browsertest.Poll(`document.getElementById("headline").textContent === "Mời quét mã" && document.body.dataset.live === "1"`))
	decision(1, "allow")
	browsertest.Screenshot(t, lane, "gate-1729-allowed")

	for _, at := range []time.Time{time.Date(2026, 7, 4, 17, 30, 0, 0, loc), time.Date(2026, 7, 4, 18, 1, 0, 0, loc)} {
		clock.Set(at)
		open("lane at " + at.Format("15:04"))
		browsertest.Do(t, lane, "closed shown before anyone scans", browsertest.Poll(`document.getElementById("headline").textContent === "Đã đóng cửa" && document.getElementById("panel").className === "closed"`))
		browsertest.Screenshot(t, lane, "gate-"+at.Format("1504")+"-closed-idle")
		decision(2+at.Minute(), "refuse")
		if msg := browsertest.Text(t, lane, "#message"); !strings.Contains(msg, "đã đóng cửa") {
			t.Errorf("at %s a refused visitor reads %q", at.Format("15:04"), msg)
		}
		checkWords(t, lane, "gate lane at "+at.Format("15:04"))
		browsertest.Screenshot(t, lane, "gate-"+at.Format("1504")+"-closed")
	}
	var st struct {
		SiteState string `json:"site_state"`
		Today     struct {
			Entries  int64            `json:"entries"`
			Refusals map[string]int64 `json:"refusals"`
		} `json:"today"`
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/gate", nil)
	req.Header.Set("Authorization", "Bearer display-token-012345678")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.SiteState != "closed" || st.Today.Entries != 1 {
		t.Errorf("after closing: %+v, want closed with the one entry of 17:29", st)
	}

	dash := browsertest.WithStepTimeout(browsertest.Tab(t, lane), 20*time.Second)
	browsertest.Do(t, dash, "gate dashboard", chromedp.EmulateViewport(1280, 1400), chromedp.Navigate(base+"/?token=admin-token-0123456789"),
		browsertest.Poll(`document.getElementById("status").innerText.includes("Trạng thái khu")`))
	if s := browsertest.Eval[string](t, dash, `document.getElementById("status").innerText`); !strings.Contains(s, "Đã đóng cửa") {
		t.Errorf("the gate's dashboard does not say closed: %q", s)
	}
	browsertest.Do(t, dash, "no queue report", browsertest.Poll(`document.getElementById("report-card").hidden`))
	checkWords(t, dash, "gate dashboard")
	browsertest.FullScreenshot(t, dash, "gate-dashboard-closed")
}
