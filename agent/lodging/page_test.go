//go:build unix

package lodging

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/config"
	"motcua-agent/drivers/keyboard/xvfbtest"
	"motcua-agent/internal/browsertest"
)

// TestWardPageInChromium opens the ward's page in headless Chromium: tonight's list,
// the warning as 23:00 nears, a person marked notified with the page's button, a
// person typed in by hand; no raw codes or English reach the nurse.
func TestWardPageInChromium(t *testing.T) {
	t.Parallel()
	browsertest.Path(t)
	r := newRig(t, time.Date(2026, 12, 2, 22, 15, 0, 0, ict))
	for _, p := range []person{an, binh} {
		if _, err := r.list.Add(context.Background(), "khoa-noi", SourceChip, Person{Number: p.id, Name: p.name, Birth: p.birth, Sex: p.sex}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := browsertest.Headless(t)
	poll := func(what, js string) {
		t.Helper()
		if _, err := browsertest.Run(ctx, browsertest.Poll(js)); err != nil {
			body, _ := browsertest.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v; the page shows:\n%s", what, err, body)
		}
	}
	browsertest.Do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 800))
	browsertest.Do(t, ctx, "open the page", chromedp.Navigate(r.base+"/lodging/ward?ward=khoa-noi&token="+counterToken))
	poll("the list", `document.querySelectorAll("#rows tr").length === 2`)
	poll("the warning", `!document.getElementById("warning").hidden`)
	if w := browsertest.Text(t, ctx, "#warning"); w != "Còn 2 người chưa thông báo lưu trú, hạn 23:00 hôm nay (còn 45 phút)." {
		t.Fatalf("warning %q", w)
	}
	if row := browsertest.Text(t, ctx, "#rows tr:first-child"); !strings.Contains(row, an.name) || !strings.Contains(row, an.id) ||
		!strings.Contains(row, "Chăm sóc người bệnh") || !strings.Contains(row, "23:00") {
		t.Fatalf("first row %q", row)
	}
	browsertest.Screenshot(t, ctx, "lodging-ward-warning")
	// The nurse corrects the second person's reason and stay on the page.
	browsertest.Eval[bool](t, ctx, `(() => { const s = document.querySelector("#rows tr:nth-child(2) select.reason");
		s.value = "Điều trị nội trú"; s.dispatchEvent(new Event("change"));
		const i = document.querySelector("#rows tr:nth-child(2) input.to"); i.value = ""; i.focus(); return true; })()`)
	browsertest.Do(t, ctx, "type the end date", chromedp.SendKeys(`#rows tr:nth-child(2) input.to`, "04/12/2026"))
	browsertest.Do(t, ctx, "save", chromedp.Click(`#rows tr:nth-child(2) button.save`))
	poll("saved", `document.getElementById("msg").textContent === "Đã lưu."`)
	if e := r.ward("khoa-noi").Entries[1].Person; e.Reason != "Điều trị nội trú" || e.To != "04/12/2026" {
		t.Fatalf("after the correction: %+v", e)
	}
	browsertest.Do(t, ctx, "mark notified", chromedp.Click(`#rows tr:first-child button.notify`))
	poll("notified shown", `document.querySelector("#rows tr:first-child td.done") !== null`)
	poll("warning for one", `document.getElementById("warning").textContent.startsWith("Còn 1 người")`)
	browsertest.Do(t, ctx, "type the number", chromedp.SendKeys("#f-number", cuc.id))
	browsertest.Do(t, ctx, "type the name", chromedp.SendKeys("#f-name", cuc.name))
	browsertest.Do(t, ctx, "add", chromedp.Click(`#add button`))
	poll("added", `document.querySelectorAll("#rows tr").length === 3`)
	body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, raw := range []string{"undefined", "null", "NaN", "chip", "typed", "notified", "Invalid Date"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page shows %q", raw)
		}
	}
	fits := browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth <= document.documentElement.clientWidth`)
	if !fits {
		t.Error("the page scrolls sideways at 1280x800")
	}
	browsertest.Screenshot(t, ctx, "lodging-ward-list")
}

// lodgingForm is a stand-in for the VNeID/portal form: its inputs in the form's order.
const lodgingForm = `<!doctype html><html lang="vi"><meta charset="utf-8"><title>Thông báo lưu trú</title><body><form>
<input id="id"><input id="name"><input id="birth"><input id="sex"><input id="reason"><input id="from"><input id="to"></form></body></html>`

// TestTypeIntoTheForm: the agent's real endpoint types a listed person, through XTEST,
// into the focused form of a headful Chromium on Xvfb, field by field in the form's
// order, Vietnamese intact; the typing is recorded without the data.
func TestTypeIntoTheForm(t *testing.T) {
	display := xvfbtest.Start(t)
	r := newRig(t, time.Date(2026, 12, 2, 21, 0, 0, 0, ict), func(c *config.Config) { c.Lodging.Typing.Display = display })
	e, err := r.list.Add(context.Background(), "khoa-noi", SourceTyped, Person{Number: an.id, Name: an.name, Birth: an.birth, Sex: an.sex})
	if err != nil {
		t.Fatal(err)
	}
	form := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(lodgingForm))
	}))
	defer form.Close()
	ctx := browsertest.WithStepTimeout(xvfbtest.Chromium(t, display), 40*time.Second)
	browsertest.Do(t, ctx, "open the form", chromedp.Navigate(form.URL), chromedp.WaitVisible("#id"))
	xvfbtest.FocusBrowser(t, ctx, display)
	browsertest.Do(t, ctx, "focus the first input", chromedp.Focus("#id"))
	if code, b := r.call("POST", "/api/v1/lodging/entries/"+e.ID+"/type", nil); code != http.StatusOK {
		t.Fatalf("typing: %d %s", code, b)
	}
	want := map[string]string{"#id": an.id, "#name": an.name, "#birth": an.birth, "#sex": an.sex, "#reason": "Chăm sóc người bệnh",
		"#from": "02/12/2026", "#to": "03/12/2026"}
	browsertest.Run(ctx, browsertest.Poll(`document.querySelector('#to').value === "03/12/2026"`))
	for sel, w := range want {
		if got := browsertest.Eval[string](t, ctx, fmt.Sprintf("document.querySelector(%q).value", sel)); got != w {
			t.Errorf("%s: got %q, want %q", sel, got, w)
		}
	}
	if code, _ := r.call("POST", "/api/v1/lodging/entries/nope/type", nil); code != http.StatusNotFound {
		t.Errorf("typing an entry not on the list: %d", code)
	}
}
