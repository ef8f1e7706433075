package app

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/identity"
	"motcua-agent/config"
	"motcua-agent/drivers/display"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startDemoAgent runs the demo config (simulated printer and call display on pty
// pairs) in a temporary folder and returns its base address; edits change the config
// before the agent starts.
func startDemoAgent(t *testing.T, edits ...func(*config.Config)) (*App, string) {
	t.Helper()
	a, base, _ := startStoppableDemoAgent(t, edits...)
	return a, base
}

// startStoppableDemoAgent is startDemoAgent with a stop: the agent's pages stay open
// in the browser while the agent is gone, as when its PC is switched off.
func startStoppableDemoAgent(t *testing.T, edits ...func(*config.Config)) (*App, string, func()) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	browsertest.Path(t)
	dir := t.TempDir()
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.PublicURL = "http://" + cfg.HTTP.Listen
	for _, e := range edits {
		e(cfg)
	}
	a, stop := serveApp(t, cfg, nil)
	base := cfg.HTTP.PublicURL
	return a, base, stop
}

// serveApp opens an agent on cfg, lets setup change it before it runs (a clock), runs
// it until the test ends (or stop), and returns once its web server answers /healthz.
func serveApp(t *testing.T, cfg *config.Config, setup func(*App)) (*App, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if setup != nil {
		setup(a)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; a.Close() }) }
	t.Cleanup(stop)
	testkit.Eventually(t, 20*time.Second, func() bool {
		r, err := http.Get("http://" + cfg.HTTP.Listen + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	}, "the agent at %s to answer", cfg.HTTP.Listen)
	return a, stop
}

// browser starts headless Chromium as the hall's screens run it: a 1280x900 window,
// and the display board's voice plays without a tap; extra flags are added.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	hall := []chromedp.ExecAllocatorOption{chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.WindowSize(1280, 900)}
	return browsertest.Headless(t, append(hall, extra...)...)
}

// waitFile waits for a file to appear and be complete (its size stops changing).
// waitFile waits for the simulated printer's picture at path (written aside and
// renamed: once there, it is whole).
func waitFile(t *testing.T, path string) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 0
	}, "%s to appear", path)
}

func scanQR(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR on the printed ticket does not scan: %v", err)
	}
	return res.GetText()
}

func TestQueueEndToEnd(t *testing.T) {
	a, base := startDemoAgent(t)
	tok := a.Tokens
	bctx := browser(t)
	day := a.Store.Day(time.Now())

	// The display board listens first, recording the voice clips it fetches.
	var mu sync.Mutex
	var clips []string
	dctx := browsertest.Tab(t, bctx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/voice/") {
			mu.Lock()
			clips = append(clips, strings.TrimSuffix(e.Request.URL[strings.LastIndex(e.Request.URL, "/")+1:], ".wav"))
			mu.Unlock()
		}
	}))
	browsertest.Do(t, dctx, "open display", chromedp.Navigate(base+"/display?token="+tok["display"]),
		chromedp.WaitVisible(chromedp.CSS("#now-number")), chromedp.Sleep(500*time.Millisecond))

	// A citizen touches a service on the kiosk.
	kctx := browsertest.Tab(t, bctx)
	browsertest.Do(t, kctx, "kiosk", chromedp.Navigate(base+"/kiosk?token="+tok["kiosk"]),
		browsertest.Click(`button[data-service="A"]`),
		chromedp.WaitVisible(chromedp.CSS("#ticket-number")))
	number := browsertest.TextContent(t, kctx, "#ticket-number")
	browsertest.FullScreenshot(t, kctx, "kiosk-ticket")
	// The citizen takes the slip and taps "Xong"; the next one finds the services (the
	// slip would otherwise stay 8 s over them and swallow the next tap).
	browsertest.Do(t, kctx, "slip done", chromedp.Click(chromedp.CSS("#slip-done")), chromedp.WaitNotVisible(chromedp.CSS("#overlay")))
	if number != "1001" {
		t.Fatalf("kiosk shows %q, want 1001", number)
	}
	// The ticket's bytes reached the printer's pty and decode to that number.
	printed := filepath.Join(a.Config.DataDir, "printer-sim", "ticket-0001.png")
	waitFile(t, printed)
	// The demo takes ratings: the link carries the ticket's own key (the citizen's
	// right to rate this one ticket).
	if got, want := scanQR(t, printed), regexp.MustCompile("^"+regexp.QuoteMeta(fmt.Sprintf("%s/ticket?n=1001&d=%s&k=", base, day))+"[0-9a-f]{24}$"); !want.MatchString(got) {
		t.Fatalf("printed QR %q, want it to match %s", got, want)
	}

	// Counter 2 calls it from the console.
	cctx := browsertest.Tab(t, bctx)
	browsertest.Do(t, cctx, "console", chromedp.Navigate(base+"/counter?counter=2&token="+tok["counter"]),
		chromedp.WaitVisible(chromedp.CSS("#next")), chromedp.Sleep(300*time.Millisecond), chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#msg .notice")))
	browsertest.Do(t, cctx, "console current", browsertest.Poll(`document.getElementById("current").textContent === "1001"`))
	browsertest.FullScreenshot(t, cctx, "counter-console")

	// The board shows it and asks for the right clips, in order.
	browsertest.Do(t, dctx, "display shows the call", browsertest.Poll(`document.getElementById("now-number").textContent === "1001"`))
	to := browsertest.TextContent(t, dctx, "#now-to")
	if to != "Quầy 2" {
		t.Fatalf("display says %q", to)
	}
	want, _ := display.CallClips(1001, "2")
	browsertest.Do(t, dctx, "clips played", browsertest.Poll(fmt.Sprintf(`window.playedClips.length >= %d`, len(want))))
	requested := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(clips, " ") }
	testkit.Eventually(t, 20*time.Second, func() bool { return strings.Contains(requested(), strings.Join(want, " ")) },
		"display requested clips %q, want %q", requested, strings.Join(want, " "))
	browsertest.FullScreenshot(t, dctx, "display-board")

	// The call keypad of counter 2 recalls it (a key press is a line on its serial port).
	kp, err := os.OpenFile(filepath.Join(a.Config.DataDir, "display-sim", "keypad.host"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	kp.Write([]byte("2 RECALL\r\n"))
	kp.Close()
	browsertest.Do(t, cctx, "keypad recall reaches the console", browsertest.Poll(`document.getElementById("current-info").textContent.includes("gọi lại 1 lần")`))

	// The citizen follows the ticket from its QR.
	sctx := browsertest.Tab(t, bctx)
	browsertest.Do(t, sctx, "status page", chromedp.Navigate(fmt.Sprintf("%s/ticket?n=1001&d=%s", base, day)),
		browsertest.Poll(`document.getElementById("state").textContent.length > 0`))
	state, detail := browsertest.TextContent(t, sctx, "#state"), browsertest.TextContent(t, sctx, "#detail")
	if state != "Đang được gọi" || detail != "Mời ông/bà đến quầy số 2" {
		t.Fatalf("status page says %q / %q", state, detail)
	}
	browsertest.FullScreenshot(t, sctx, "ticket-status")

	// Out of paper: the ticket is still issued and shown with a notice, counted, and
	// the fault is on the dashboard.
	os.WriteFile(filepath.Join(a.Config.DataDir, "printer-sim", "paper-out"), nil, 0o644)
	browsertest.Do(t, kctx, "kiosk without paper", browsertest.Click(`button[data-service="B"]`), chromedp.WaitVisible(chromedp.CSS("#notice")))
	notice, number2 := browsertest.TextContent(t, kctx, "#notice"), browsertest.TextContent(t, kctx, "#ticket-number")
	browsertest.FullScreenshot(t, kctx, "kiosk-printer-fault")
	if number2 != "2001" || !strings.Contains(notice, "Máy in phiếu") {
		t.Fatalf("kiosk without paper: %q %q", number2, notice)
	}
	// The next citizen is told before touching anything.
	browsertest.Do(t, kctx, "printer notice before the tap", chromedp.Click(chromedp.CSS("#slip-done")), browsertest.Poll(`!!document.querySelector("#printer .k-printer")`))
	if got := browsertest.TextContent(t, kctx, "#printer"); !strings.Contains(got, "Máy in phiếu hết giấy") {
		t.Fatalf("kiosk printer notice: %q", got)
	}
	browsertest.FullScreenshot(t, kctx, "kiosk-printer-notice")
	req, _ := http.NewRequest("GET", base+"/api/v1/dashboard", nil)
	req.Header.Set("Authorization", "Bearer "+tok["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dash struct {
		Devices  []struct{ Name, State, Message string }
		Counters []struct {
			Metric string
			Value  int64
		}
	}
	json.NewDecoder(resp.Body).Decode(&dash)
	fault := false
	for _, d := range dash.Devices {
		fault = fault || (d.Name == "printer" && d.State == "fault" && d.Message == "Máy in phiếu hết giấy")
	}
	counts := map[string]int64{}
	for _, c := range dash.Counters {
		counts[c.Metric] += c.Value
	}
	if !fault || counts["tickets.issued"] != 2 || counts["tickets.unprinted"] != 1 {
		t.Fatalf("dashboard: devices %+v counters %v", dash.Devices, counts)
	}
	// The fault is in the day's alert history, with its time.
	req, _ = http.NewRequest("GET", base+"/api/v1/queue/report", nil)
	req.Header.Set("Authorization", "Bearer "+tok["admin"])
	rresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Alerts []string }
	json.NewDecoder(rresp.Body).Decode(&rep)
	rresp.Body.Close()
	if alerts := strings.Join(rep.Alerts, "\n"); !strings.Contains(alerts, " · Máy in phiếu hết giấy") ||
		!strings.Contains(alerts, " · Máy in phiếu không in được phiếu số 2001") {
		t.Fatalf("alert history: %q", rep.Alerts)
	}
	// An ID card tapped at kiosk station "kiosk-1" whose holder is 80: that station's next
	// ticket is priority (the identity flow's message is the input; the birth date is
	// personal and stays in memory).
	born := time.Now().AddDate(-80, 0, 0).Format("02/01/2006")
	a.Bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "kiosk-1", Outcome: "ok"},
		Personal: identity.Person{Birth: born}})
	testkit.Eventually(t, 10*time.Second, func() bool {
		body := strings.NewReader(`{"service": "A", "station": "kiosk-1"}`)
		req, _ := http.NewRequest("POST", base+"/api/v1/tickets", body)
		req.Header.Set("Authorization", "Bearer "+tok["kiosk"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Ticket struct{ Priority bool } }
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		return r.Ticket.Priority
	}, "a card of an 80-year-old to make the kiosk's ticket priority")

	// The kiosk on a tablet held upright: the services stack in one column, all visible.
	tab := browsertest.Tab(t, bctx)
	browsertest.Do(t, tab, "kiosk on a tablet", chromedp.EmulateViewport(800, 1280, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/kiosk?token="+tok["kiosk"]), chromedp.WaitVisible(chromedp.CSS(`button[data-service="C"]`)),
		browsertest.Poll(`document.querySelector('button[data-service="C"]').getBoundingClientRect().bottom < 1280`))
	browsertest.FullScreenshot(t, tab, "kiosk-tablet")

	adm := browsertest.Tab(t, bctx)
	browsertest.Do(t, adm, "dashboard", chromedp.Navigate(base+"/?token="+tok["admin"]),
		browsertest.Poll(`document.getElementById("devices").textContent.includes("Máy in phiếu hết giấy")`))
	browsertest.FullScreenshot(t, adm, "dashboard-printer-fault")
}
