package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

// TestStatisticsPageInChromium opens the page as a provincial statistician would, in
// headless Chromium: clicks down from the provinces to a commune, a site and a counter,
// checks the totals at each level and the way back by the breadcrumb, the charts drawn
// with data, the silent sites flagged, no metric shown by its code, and that the page
// fits a 1280×720 and a 1920×1080 screen.
func TestStatisticsPageInChromium(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		browsertest.Path(t)
		th, _ := seedStats(t, func(o *Options) { o.OpenFleet = true })
		ctx := browsertest.Headless(t)

		do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			browsertest.Do(t, ctx, what, actions...)
		}
		eval := func(js string) string {
			t.Helper()
			return browsertest.Eval[string](t, ctx, js)
		}
		shot := func(name string, full bool) {
			t.Helper()
			if full {
				browsertest.FullScreenshot(t, ctx, name)
			} else {
				browsertest.Screenshot(t, ctx, name)
			}
		}
		// waitFor waits until js is true on a loaded page. A click navigates: the old
		// page's context goes away under an evaluation, so errors until the new page
		// answers are expected.
		waitFor := func(what, js string) {
			t.Helper()
			js = `(() => document.readyState === "complete" && (` + js + `))()`
			var err error
			testkit.Eventually(t, 20*time.Second, func() bool {
				var ok bool
				ok, err = browsertest.Run(ctx, chromedp.Evaluate[bool](js))
				return err == nil && ok
			}, "%s: not reached: %v", what, func() string { return fmt.Sprint(err) })
		}
		// at waits for the page of a level: the breadcrumb's last step names it.
		at := func(label string) {
			t.Helper()
			waitFor("page of "+label, `(c => !!c && c.textContent === `+jsString(label)+`)(document.querySelector(".crumbs [aria-current]"))`)
		}
		// rows reads the drill-down table: the place's link text, then its figures.
		rows := func() map[string][]string {
			t.Helper()
			return browsertest.Eval[map[string][]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("table.drill tbody tr")].map(tr => {
				const c = [...tr.children], a = c[0].querySelector("a");
				return [(a ? a.textContent : c[0].firstChild.textContent).trim(), c.slice(1).map(td => td.textContent.trim())];
			}))`)
		}
		click := func(label string) {
			t.Helper()
			do("click "+label, chromedp.Click(chromedp.Search(`//table[@class="drill"]//a[normalize-space(text())=`+xpathString(label)+`]`)))
		}
		// check runs on every page: the charts are there and nothing shows a metric's code.
		check := func(level string) {
			t.Helper()
			if n := eval(`String(document.querySelectorAll("#charts svg.chart[role=img]").length)`); n != "4" {
				t.Errorf("%s: %s charts, want 4", level, n)
			}
			text := eval(`document.body.innerText`)
			for _, d := range vocab.Metrics() {
				if strings.Contains(text, d.Name) {
					t.Errorf("%s: the page shows the metric code %q", level, d.Name)
				}
			}
			if s := eval(`String(document.documentElement.scrollWidth <= document.documentElement.clientWidth)`); s != "true" {
				t.Errorf("%s: the page scrolls sideways", level)
			}
			for _, bad := range []string{"undefined", "NaN", "<nil>", " / ", "s trước", "m trước"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s: the page shows %q", level, bad)
				}
			}
		}

		do("viewport", chromedp.EmulateViewport(1280, 720))
		do("open", chromedp.Navigate(th.srv.URL+"/?period=month&at=2026-11"))
		at("Tất cả")
		check("provinces")
		top := rows()
		if r := top["Nghệ An"]; len(r) != 8 || r[colPeople] != "72" || r[colIssued] != "94" || r[colGate] != "120" {
			t.Errorf("provinces: Nghệ An = %v", r)
		}
		if r := top["Hà Tĩnh"]; r[colIssued] != "200" {
			t.Errorf("provinces: Hà Tĩnh = %v", r)
		}
		// The charts have bars with data: November's days, and October's tickets.
		if n := eval(`String([...document.querySelectorAll("#charts rect.bar")].filter(r => r.getAttribute("height") > 0).length)`); n == "0" {
			t.Error("the charts have no bar with data")
		}
		if s := eval(`document.querySelector("#chart-3 desc").textContent`); !strings.Contains(s, "tổng 338") {
			t.Errorf("the tickets chart says %q, want a total of 338 (294 in November and 44 in October)", s)
		}
		if s := eval(`document.getElementById("stale").innerText`); !strings.Contains(s, "Bộ phận một cửa xã Cửa Lò") ||
			!strings.Contains(s, "không gửi số liệu từ 19/11/2026 (4 ngày)") || !strings.Contains(s, "chưa gửi số liệu lần nào") {
			t.Errorf("stale sites: %q", s)
		}
		if s := eval(`document.getElementById("fleet").innerText`); !strings.Contains(s, "21 giây trước") || !strings.Contains(s, "VH-2 (chưa đặt tên)") {
			t.Errorf("fleet: %q", s)
		}
		fits := func(w, h int64) {
			t.Helper()
			do("viewport", chromedp.EmulateViewport(w, h))
			if s := eval(`String(document.documentElement.scrollWidth <= document.documentElement.clientWidth)`); s != "true" {
				t.Errorf("the page scrolls sideways at %dx%d", w, h)
			}
		}
		fits(1280, 720)
		shot("hub-provinces-1280x720", false)
		fits(1920, 1080)
		shot("hub-provinces-1920x1080", false)
		do("viewport", chromedp.EmulateViewport(1280, 720))

		click("Nghệ An")
		at("Nghệ An")
		check("communes")
		communes := rows()
		if r := communes["Phường Vinh Hưng"]; r[colPeople] != "65" || r[colIssued] != "85" || r[colWait] != "8 phút 32 giây" {
			t.Errorf("communes: Vinh Hưng = %v", r)
		}
		if r := communes["Xã Cửa Lò"]; r[colIssued] != "9" || r[colGate] != "120" {
			t.Errorf("communes: Cửa Lò = %v", r)
		}
		if _, ok := communes["Phường Thành Sen"]; ok {
			t.Error("communes: Hà Tĩnh's commune under Nghệ An")
		}
		if s := eval(`document.querySelector("select[name=commune]").innerText`); strings.Contains(s, "Thành Sen") || !strings.Contains(s, "Xã Quỳnh Lưu") {
			t.Errorf("the commune list: %q", s)
		}
		shot("hub-communes-1280x720", true)

		click("Phường Vinh Hưng")
		at("Phường Vinh Hưng")
		check("sites")
		sites := rows()
		if r := sites["Trung tâm phục vụ hành chính công phường Vinh Hưng"]; r[colIssued] != "60" || r[colWait] != "10 phút" {
			t.Errorf("sites: VH-1 = %v (rows %v)", r, sites)
		}
		if r := sites["VH-2 (chưa đặt tên)"]; r[colIssued] != "25" || r[colWait] != "5 phút" {
			t.Errorf("sites: VH-2 = %v (rows %v)", r, sites)
		}

		click("Trung tâm phục vụ hành chính công phường Vinh Hưng")
		at("Trung tâm phục vụ hành chính công phường Vinh Hưng")
		check("counters")
		counters := rows()
		if r := counters["Quầy Q1"]; r[colServed] != "35" || r[colReceived] != "30" || r[colDigitized] != "24" {
			t.Errorf("counters: Q1 = %v", r)
		}
		if r := counters["Quầy Q2"]; r[colServed] != "20" {
			t.Errorf("counters: Q2 = %v", r)
		}
		if s := eval(`document.getElementById("bhyt").innerText`); !strings.Contains(s, "Lượt tra cứu thẻ BHYT bằng căn cước\t8") || !strings.Contains(s, "87,5") {
			t.Errorf("health-insurance look-ups at VH-1: %q", s)
		}

		click("Quầy Q1")
		at("Quầy Q1")
		check("counter")
		if n := eval(`String(document.querySelectorAll("table.drill").length)`); n != "0" {
			t.Error("a counter has a level below it")
		}
		if s := eval(`document.getElementById("figures").innerText`); !strings.Contains(s, "Số lượt đã phục vụ\t35") || strings.Contains(s, "\t20\n") {
			t.Errorf("counter Q1's figures: %q", s)
		}
		shot("hub-counter-1280x720", true)

		// Back up by the breadcrumb, and down again by the filters (script submits on change).
		do("breadcrumb", chromedp.Click(chromedp.Search(`//nav[@class="crumbs"]//a[text()="Phường Vinh Hưng"]`)))
		at("Phường Vinh Hưng")
		do("choose Hà Tĩnh", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("select[name=province]");
			s.value = "Hà Tĩnh"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
		at("Hà Tĩnh")
		if r := rows()["Phường Thành Sen"]; r[colIssued] != "200" {
			t.Errorf("Hà Tĩnh by the filter: %v", rows())
		}
		// Printed, the page keeps the figures and drops the form and the links' colours.
		media := func(m string) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
				return err
			})
		}
		do("print media", media("print"))
		if s := eval(`getComputedStyle(document.getElementById("filters")).display + " " + getComputedStyle(document.getElementById("drill")).display`); s != "none block" {
			t.Errorf("printed: form and drill-down display %q, want none and block", s)
		}
		shot("hub-print-1280x720", true)
		do("screen media", media(""))

		// Another period from the list: October holds only VH-1's 44 tickets.
		do("choose October", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("select[name=p]");
			s.value = "month:2026-10"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
		waitFor("October", `document.title.endsWith("tháng 10/2026")`)
		if r := rows()["Phường Thành Sen"]; r[colIssued] != "0" {
			t.Errorf("Hà Tĩnh in October: %v", rows())
		}
		do("October for all", chromedp.Click(chromedp.Search(`//nav[@class="crumbs"]//a[text()="Tất cả"]`)))
		at("Tất cả")
		if r := rows()["Nghệ An"]; r[colIssued] != "44" || r[colPeople] != "0" {
			t.Errorf("Nghệ An in October: %v", r)
		}

		do("full page", chromedp.EmulateViewport(1920, 1080))
		do("back to November", chromedp.Navigate(th.srv.URL+"/?period=month&at=2026-11"))
		at("Tất cả")
		shot("hub-full-1920x1080", true)
	})
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// xpathString quotes s for an XPath expression (the labels here hold no double quote).
func xpathString(s string) string { return `"` + s + `"` }
