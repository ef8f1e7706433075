//go:build unix

package identity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/identity"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/keyboard/xvfbtest"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

const typingForm = `<!doctype html><html lang="vi"><meta charset="utf-8"><title>Dịch vụ công</title><body>
<form><input id="id"><input id="name"><input id="birth"><input id="residence"></form></body></html>`

// TestTypeIntoFocusedField: a verified card's fields, typed by the agent's real
// endpoint through XTEST into the focused inputs of a headful Chromium on Xvfb (a web
// application's form), arrive every character in order, Vietnamese included; the
// typing is recorded as an event without the data; a refused typing types nothing.
func TestTypeIntoFocusedField(t *testing.T) {
	display := xvfbtest.Start(t)
	p := startPanelAgent(t, func(c *config.Config) {
		c.Card.Panel.Typing = config.CardTyping{Enabled: true, Display: display, Hotkey: "F9", Counter: "2",
			Fields: []string{"id", "tab", "name", "tab", "birth", "tab", "residence"}}
	})
	c := citizen(t, "an-cccd2021")
	// A citizen whose name and address need the characters no keyboard layout has.
	name, residence := "Nguyễn Thị Ánh Tuyết", "Buôn Ma Thuột, Đắk Lắk"
	c.QR = strings.Replace(strings.Replace(c.QR, c.DG13.Name, name, 1), c.DG13.Residence, residence, 1)
	c.DG13.Name, c.DG13.Residence = name, residence

	// Nothing read yet: nothing to type.
	if code, _ := p.typeAt(t, "2"); code != http.StatusNotFound {
		t.Fatalf("typing with no read: %d", code)
	}
	p.scan(t, c.QR)
	slot := p.insert(t, c, simcard.Options{})
	p.waitPanel(t, "2", identity.OutcomeOK)

	form := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(typingForm))
	}))
	defer form.Close()
	ctx := browsertest.WithStepTimeout(xvfbtest.Chromium(t, display), 40*time.Second)
	browsertest.Do(t, ctx, "open the form", chromedp.Navigate(form.URL), chromedp.WaitVisible("#id"))
	xvfbtest.FocusBrowser(t, ctx, display)
	browsertest.Do(t, ctx, "focus the first input", chromedp.Focus("#id"))

	// Another counter's typing finds nothing of counter 2's read.
	if code, _ := p.typeAt(t, "1"); code != http.StatusNotFound {
		t.Fatalf("typing at counter 1: %d", code)
	}
	p.waitPanel(t, "2", identity.OutcomeOK)
	if code, body := p.typeAt(t, "2"); code != http.StatusOK {
		t.Fatalf("typing: %d %s", code, body)
	}
	want := map[string]string{"#id": c.DG13.ID, "#name": name, "#birth": c.DG13.Birth, "#residence": residence}
	checkForm := func(how string) {
		t.Helper()
		browsertest.Run(ctx, browsertest.Poll(fmt.Sprintf("document.querySelector('#residence').value === %q", residence)))
		for sel, w := range want {
			got := browsertest.Eval[string](t, ctx, fmt.Sprintf("document.querySelector(%q).value", sel))
			if got != w {
				t.Errorf("%s, %s: got %q, want %q", how, sel, got, w)
			}
		}
	}
	checkForm("by the endpoint")

	// The global hotkey (F9, grabbed on the X server) types the same where the focus is.
	browsertest.Eval[bool](t, ctx, `document.querySelectorAll("input").forEach(i => i.value = ""), document.querySelector("#id").focus(), true`)
	xvfbtest.PressKey(t, display, 0xffc6) // XK_F9
	checkForm("by the hotkey")
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}

	// The hotkey's typing is recorded once the keys are out: wait for its event.
	var evs []store.Event
	var err error
	testkit.Eventually(t, time.Minute, func() bool {
		evs, err = p.app.Store.Events(p.ctx, store.EventFilter{Kinds: []string{identity.EventTyped}})
		return err != nil || len(evs) >= 2
	}, "the typed events")
	if err != nil || len(evs) != 2 {
		t.Fatalf("typed events %v %v", evs, err)
	}
	for i, trigger := range []string{"button", "hotkey"} {
		var a identity.TypedAttrs
		if ev := evs[i]; ev.Attrs.Decode(&a) != nil || ev.Counter != "2" || a.Fields != 4 || a.Keys != 3 || a.Trigger != trigger {
			t.Errorf("typed event %+v", ev)
		}
	}

	// A tampered card is shown but never typed.
	p.post(t, "/api/v1/identity/panel/clear", `{"counter":"2"}`)
	p.scan(t, c.QR)
	slot = p.insert(t, c, simcard.Options{TamperDG13: true})
	p.waitPanel(t, "2", identity.OutcomeFailed)
	if code, _ := p.typeAt(t, "2"); code != http.StatusConflict {
		t.Errorf("typing a tampered card's data: %d", code)
	}
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}
	p.noPersonalData(t, c.DG13.ID, name, residence, c.DG13.Father)
}

// typeAt asks the agent to type counter's last read, as the panel's button does.
func (p *panelAgent) typeAt(t *testing.T, counter string) (int, string) {
	t.Helper()
	return p.post(t, "/api/v1/identity/panel/type", `{"counter":"`+counter+`"}`)
}

func (p *panelAgent) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// waitPanel waits until the panel of counter shows a finished read with outcome.
func (p *panelAgent) waitPanel(t *testing.T, counter, outcome string) identity.PanelView {
	t.Helper()
	var v identity.PanelView
	testkit.Eventually(t, time.Minute, func() bool {
		v = p.panelNow(t, counter)
		if v.State == "done" && v.Outcome != outcome {
			t.Fatalf("panel of counter %s: outcome %s, want %s: %+v", counter, v.Outcome, outcome, v.Facts)
		}
		return v.State == "done"
	}, "the panel of counter %s to show outcome %s (last %s)", counter, outcome, func() string { return fmt.Sprintf("%+v", v.Facts) })
	return v
}

// panelNow is the panel of counter as the agent shows it now.
func (p *panelAgent) panelNow(t *testing.T, counter string) identity.PanelView {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+"/api/v1/identity/panel?counter="+counter, nil)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v identity.PanelView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
