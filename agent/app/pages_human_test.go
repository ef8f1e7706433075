package app

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/internal/browsertest"
)

// The morning an official and a citizen have when things go right and when the
// agent's PC goes away: each console action says what it did; with the agent gone the
// console says the connection is lost (not "Failed to fetch", not "cannot load the
// queue") and the kiosk's buttons stop looking usable, its stale waiting counts hidden; the ticket's own page heads
// with the office and shows "go to counter N" as the thing not to miss.
func TestPagesSayWhatHappened(t *testing.T) {
	a, base, stop := startStoppableDemoAgent(t)
	b := browser(t)
	ctx := browsertest.WithStepTimeout(browsertest.Tab(t, b), 20*time.Second)
	k := browsertest.Tab(t, b)
	browsertest.Do(t, k, "kiosk", chromedp.Navigate(base+"/kiosk?token="+a.Tokens["kiosk"]),
		browsertest.Click(`button[data-service="A"]`), chromedp.WaitVisible("#ticket-number"),
		chromedp.Click("#slip-done"), chromedp.WaitNotVisible("#overlay"))
	number := "1001"

	msg := func(step string, actions ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		browsertest.Do(t, ctx, step, append(actions, chromedp.WaitVisible("#msg > div"))...)
		return browsertest.Text(t, ctx, "#msg")
	}
	browsertest.Do(t, ctx, "console", chromedp.Navigate(base+"/counter?counter=1&token="+a.Tokens["counter"]), chromedp.WaitVisible("#next"))
	for _, c := range []struct{ button, want string }{
		{"#next", "Đã gọi số " + number + "."},
		{"#recall", "Đã gọi lại số " + number + "."},
		{"#start", "Đang phục vụ số " + number + "."},
		{"#finish", "Đã phục vụ xong số " + number + "."},
		{"#pause", "Quầy đã tạm dừng."},
		{"#pause", "Quầy làm việc lại."},
	} {
		browsertest.Eval[string](t, ctx, `document.getElementById("msg").innerHTML = ""`)
		if got := msg(c.button, chromedp.Click(c.button)); got != c.want {
			t.Errorf("after %s the console says %q, want %q", c.button, got, c.want)
		}
	}

	ticket := browsertest.Tab(t, b)
	browsertest.Do(t, ticket, "ticket page", chromedp.Navigate(base+"/ticket?n="+number+"&d="+a.Store.Day(time.Now())),
		browsertest.Poll(`document.getElementById("office").textContent.includes("Ba Đình")`))

	stop()
	browsertest.Eval[string](t, ctx, `document.getElementById("msg").innerHTML = ""`)
	if got := msg("next with the agent gone", chromedp.Click("#next")); !strings.Contains(got, "Mất kết nối với máy trạm") {
		t.Errorf("next with the agent gone says %q", got)
	}
	browsertest.Eval[bool](t, k, `(load(), true)`)
	browsertest.Do(t, k, "kiosk sees the agent gone", browsertest.Poll(`document.body.classList.contains("offline") && document.querySelector('button[data-service="A"]').disabled`))
	// The waiting counts it last heard are stale: none is shown under the notice.
	if shown := browsertest.Eval[int](t, k, `[...document.querySelectorAll(".k-wait")].filter(e => e.offsetParent !== null).length`); shown != 0 {
		t.Errorf("the kiosk with the agent gone still shows %d waiting counts", shown)
	}
	if got := browsertest.Eval[string](t, k, `document.getElementById("services").innerText`); strings.Contains(got, "đang chờ") {
		t.Errorf("the kiosk with the agent gone says %q", got)
	}
	browsertest.Screenshot(t, k, "kiosk-agent-gone")
}
