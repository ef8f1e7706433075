package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

// TestLanePageInChromium opens the lane's screen in headless Chromium and checks it
// shows, in Vietnamese, the decision of a scan made at that lane.
func TestLanePageInChromium(t *testing.T) {
	browsertest.Path(t)
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
	// Cleanups run last first: the browser, started after, closes the page's event
	// stream before the server waits for its connections to end.
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	ctx := browsertest.Headless(t)
	url := "http://" + srv.Addr() + "/gate/lane?lane=vao&token=" + token
	browsertest.Do(t, ctx, "open the lane page", chromedp.Navigate(url))
	browsertest.Do(t, ctx, "lane page did not load its lane", browsertest.Poll(`document.getElementById("title").textContent === "Lối vao"`))
	// The page listens on the event stream; scan until its subscription is live.
	i := 0
	testkit.Eventually(t, 30*time.Second, func() bool {
		r.scan("vao", cardQR(100+i))
		i++
		_, err := browsertest.Run(ctx, browsertest.Poll(`document.getElementById("panel").className === "allow"`,
			chromedp.WithPollingTimeout(2*time.Second)))
		return err == nil
	}, "the page to show a decision")
	headline, message, occ := browsertest.Text(t, ctx, "#headline"), browsertest.Text(t, ctx, "#message"), browsertest.Text(t, ctx, "#occ")
	if headline != "Mời vào" || !strings.Contains(message, "Xin mời vào") || !strings.Contains(occ, "/ 50") {
		t.Fatalf("page shows %q / %q / %q", headline, message, occ)
	}
	// A refusal at the other lane does not change this lane's panel.
	r.scan("ra", "xx")
	r.clock.Add(time.Minute)
	r.scan("vao", cardQR(100))
	browsertest.Do(t, ctx, "refusal not shown", browsertest.Poll(`document.getElementById("panel").className === "refuse"`))
	message = browsertest.Text(t, ctx, "#message")
	if !strings.Contains(message, "đã được dùng để vào khu") {
		t.Fatalf("refusal message %q", message)
	}
}
