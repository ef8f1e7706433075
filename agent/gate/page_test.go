package gate

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
)

// TestLanePageInChromium opens the lane's screen in headless Chromium and checks it
// shows, in Vietnamese, the decision of a scan made at that lane.
func TestLanePageInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("ra", config.LaneExit))
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Gate.Capacity = 50
	r := newRig(t, cfg, nil, time.Now())
	const token = "display-token-0123456789"
	srv := web.New(web.Options{Config: cfg, Tokens: map[web.Role]string{web.RoleDisplay: token}, Store: r.st, Bus: r.bus,
		Health: r.hl, Metrics: metrics.New(), Log: quietLog()})
	r.g.Register(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	url := "http://" + srv.Addr() + "/gate/lane?lane=vao&token=" + token
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("title").textContent === "Lối vao"`)); err != nil {
		t.Fatalf("lane page did not load its lane: %v", err)
	}
	// The page listens on the event stream; scan until its subscription is live.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		r.scan("vao", cardQR(100+i))
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("panel").className === "allow"`,
			chromedp.WithPollingTimeout(2*time.Second)))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed a decision: %v", err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	headline, message, occ := text("#headline"), text("#message"), text("#occ")
	if headline != "Mời vào" || !strings.Contains(message, "Xin mời vào") || !strings.Contains(occ, "/ 50") {
		t.Fatalf("page shows %q / %q / %q", headline, message, occ)
	}
	// A refusal at the other lane does not change this lane's panel.
	r.scan("ra", "xx")
	r.clock.Add(time.Minute)
	r.scan("vao", cardQR(100))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("panel").className === "refuse"`)); err != nil {
		t.Fatalf("refusal not shown: %v", err)
	}
	message = text("#message")
	if !strings.Contains(message, "đã được dùng để vào khu") {
		t.Fatalf("refusal message %q", message)
	}
}
