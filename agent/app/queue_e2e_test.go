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
)

const chromiumPath = "/usr/bin/chromium"

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
	for _, tool := range []string{"socat", chromiumPath} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.PublicURL = "http://" + cfg.HTTP.Listen
	for _, e := range edits {
		e(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	base := cfg.HTTP.PublicURL
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a, base
}

// browser starts headless Chromium; extra flags are added to the usual ones.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// newTab opens a tab that lives until the test ends (the first Run on a context
// decides how long its tab lives, so it must carry no timeout).
func newTab(t *testing.T, bctx context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	// Screenshots go to $SCREENSHOT_DIR when set (to be looked at), else the test's
	// temporary folder; never into the source tree.
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// poll waits until a JavaScript expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, tg)
		return chromedp.Void{}, err
	}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// waitFile waits for a file to appear and be complete (its size stops changing).
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := int64(-1)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && fi.Size() == last {
			return
		} else if err == nil {
			last = fi.Size()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
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
	dctx := newTab(t, bctx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/voice/") {
			mu.Lock()
			clips = append(clips, strings.TrimSuffix(e.Request.URL[strings.LastIndex(e.Request.URL, "/")+1:], ".wav"))
			mu.Unlock()
		}
	}))
	run(t, dctx, "open display", chromedp.Navigate(base+"/display?token="+tok["display"]),
		chromedp.WaitVisible(css("#now-number")), chromedp.Sleep(500*time.Millisecond))

	// A citizen touches a service on the kiosk.
	kctx := newTab(t, bctx)
	run(t, kctx, "kiosk", chromedp.Navigate(base+"/kiosk?token="+tok["kiosk"]),
		chromedp.WaitVisible(css(`button[data-service="A"]`)), chromedp.Click(css(`button[data-service="A"]`)),
		chromedp.WaitVisible(css("#ticket-number")))
	number := text(t, kctx, "#ticket-number")
	screenshot(t, kctx, "kiosk-ticket")
	if number != "1001" {
		t.Fatalf("kiosk shows %q, want 1001", number)
	}
	// The ticket's bytes reached the printer's pty and decode to that number.
	printed := filepath.Join(a.Config.DataDir, "printer-sim", "ticket-0001.png")
	waitFile(t, printed)
	if got, want := scanQR(t, printed), fmt.Sprintf("%s/ticket?n=1001&d=%s", base, day); got != want {
		t.Fatalf("printed QR %q, want %q", got, want)
	}

	// Counter 2 calls it from the console.
	cctx := newTab(t, bctx)
	run(t, cctx, "console", chromedp.Navigate(base+"/counter?counter=2&token="+tok["counter"]),
		chromedp.WaitVisible(css("#next")), chromedp.Sleep(300*time.Millisecond), chromedp.Click(css("#next")),
		chromedp.WaitVisible(css("#msg .notice")))
	run(t, cctx, "console current", poll(`document.getElementById("current").textContent === "1001"`))
	screenshot(t, cctx, "counter-console")

	// The board shows it and asks for the right clips, in order.
	run(t, dctx, "display shows the call", poll(`document.getElementById("now-number").textContent === "1001"`))
	to := text(t, dctx, "#now-to")
	if to != "Quầy 2" {
		t.Fatalf("display says %q", to)
	}
	want, _ := display.CallClips(1001, "2")
	run(t, dctx, "clips played", poll(fmt.Sprintf(`window.playedClips.length >= %d`, len(want))))
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(clips, " ")
		mu.Unlock()
		if strings.Contains(got, strings.Join(want, " ")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("display requested clips %q, want %q", got, strings.Join(want, " "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	screenshot(t, dctx, "display-board")

	// The call keypad of counter 2 recalls it (a key press is a line on its serial port).
	kp, err := os.OpenFile(filepath.Join(a.Config.DataDir, "display-sim", "keypad.host"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	kp.Write([]byte("2 RECALL\r\n"))
	kp.Close()
	run(t, cctx, "keypad recall reaches the console", poll(`document.getElementById("current-info").textContent.includes("gọi lại 1 lần")`))

	// The citizen follows the ticket from its QR.
	sctx := newTab(t, bctx)
	run(t, sctx, "status page", chromedp.Navigate(fmt.Sprintf("%s/ticket?n=1001&d=%s", base, day)),
		poll(`document.getElementById("state").textContent.length > 0`))
	state, detail := text(t, sctx, "#state"), text(t, sctx, "#detail")
	if state != "Đang được gọi" || detail != "Mời ông/bà đến quầy số 2" {
		t.Fatalf("status page says %q / %q", state, detail)
	}
	screenshot(t, sctx, "ticket-status")

	// Out of paper: the ticket is still issued and shown with a notice, counted, and
	// the fault is on the dashboard.
	os.WriteFile(filepath.Join(a.Config.DataDir, "printer-sim", "paper-out"), nil, 0o644)
	run(t, kctx, "kiosk without paper", chromedp.Click(css(`button[data-service="B"]`)), chromedp.WaitVisible(css("#notice")))
	notice, number2 := text(t, kctx, "#notice"), text(t, kctx, "#ticket-number")
	screenshot(t, kctx, "kiosk-printer-fault")
	if number2 != "2001" || !strings.Contains(notice, "Máy in vé") {
		t.Fatalf("kiosk without paper: %q %q", number2, notice)
	}
	// The next citizen is told before touching anything.
	run(t, kctx, "printer notice before the tap", chromedp.Click(css("#slip-done")), poll(`!!document.querySelector("#printer .k-printer")`))
	if got := text(t, kctx, "#printer"); !strings.Contains(got, "Máy in vé hết giấy") {
		t.Fatalf("kiosk printer notice: %q", got)
	}
	screenshot(t, kctx, "kiosk-printer-notice")
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
		fault = fault || (d.Name == "printer" && d.State == "fault" && d.Message == "Máy in vé hết giấy")
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
	if alerts := strings.Join(rep.Alerts, "\n"); !strings.Contains(alerts, " · Máy in vé hết giấy") ||
		!strings.Contains(alerts, " · Máy in vé không in được vé số 2001") {
		t.Fatalf("alert history: %q", rep.Alerts)
	}
	// An ID card tapped at kiosk station "kiosk-1" whose holder is 80: that station's next
	// ticket is priority (the identity flow's message is the input; the birth date is
	// personal and stays in memory).
	born := time.Now().AddDate(-80, 0, 0).Format("02/01/2006")
	a.Bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "kiosk-1", Outcome: "ok"},
		Personal: identity.Person{Birth: born}})
	deadline = time.Now().Add(10 * time.Second)
	for {
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
		if r.Ticket.Priority {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a card of an 80-year-old did not make the kiosk's ticket priority")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The kiosk on a tablet held upright: the services stack in one column, all visible.
	tab := newTab(t, bctx)
	run(t, tab, "kiosk on a tablet", chromedp.EmulateViewport(800, 1280, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/kiosk?token="+tok["kiosk"]), chromedp.WaitVisible(css(`button[data-service="C"]`)),
		poll(`document.querySelector('button[data-service="C"]').getBoundingClientRect().bottom < 1280`))
	screenshot(t, tab, "kiosk-tablet")

	adm := newTab(t, bctx)
	run(t, adm, "dashboard", chromedp.Navigate(base+"/?token="+tok["admin"]),
		poll(`document.getElementById("devices").textContent.includes("Máy in vé hết giấy")`))
	screenshot(t, adm, "dashboard-printer-fault")
}
