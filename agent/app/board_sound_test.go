package app

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/health"
	"motcua-agent/agent/queue"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

// A TV board whose browser refuses to play sound until tapped shows the one-tap
// button from its first second, before any call, and the dashboard says a board is
// silent; one tap and the dashboard says its sound is on. A board whose browser may
// play by itself (the guide's kiosk setting) shows no button and reports sound on: the
// first day's walk (TestFirstDay) opens its board so.
func TestBoardSoundFromTheFirstSecond(t *testing.T) {
	a, base := startDemoAgent(t)
	device := func(a *App, want health.State) health.Device {
		t.Helper()
		var d health.Device
		testkit.Eventually(t, 20*time.Second, func() bool {
			d, _ = a.Health.Get(queue.BoardSoundDevice)
			return d.State == want
		}, "board sound on the dashboard: %+v, want %s", &d, want)
		return d
	}

	blocked := browsertest.Headless(t, chromedp.Flag("autoplay-policy", "document-user-activation-required"), chromedp.WindowSize(1920, 1080))
	browsertest.Do(t, blocked, "open a board that may not play", chromedp.Navigate(base+"/display?token="+a.Tokens["display"]),
		chromedp.WaitVisible("#enable-sound"))
	if got := browsertest.TextContent(t, blocked, "#enable-sound"); got != "Bật âm thanh gọi số" {
		t.Errorf("the button says %q", got)
	}
	browsertest.Screenshot(t, blocked, "display-sound-blocked")
	d := device(a, health.Degraded)
	if d.Message == "" || d.Kind != "display" {
		t.Errorf("silent board on the dashboard: %+v", d)
	}
	browsertest.Do(t, blocked, "one tap", chromedp.Click("#enable-sound"), chromedp.WaitNotVisible("#enable-sound"))
	device(a, health.OK)
}
