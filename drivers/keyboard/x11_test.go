//go:build unix

package keyboard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/drivers/keyboard/xvfbtest"
)

func TestOpenWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := Open(Options{}); !isNoDisplay(err) {
		t.Fatalf("want ErrNoDisplay, got %v", err)
	}
	if _, err := Open(Options{Display: ":65000"}); !isNoDisplay(err) {
		t.Fatalf("want ErrNoDisplay for a display nobody serves, got %v", err)
	}
}

const formPage = `<!doctype html><html lang="vi"><meta charset="utf-8"><body>
<form><input id="id"><input id="name"><input id="birth"><input id="place"></form></body></html>`

// TestTypeIntoChromium types a citizen's fields through XTEST into a headful Chromium
// on a private Xvfb and reads the inputs back over the DevTools protocol: every
// character in order, Vietnamese included, with Tab moving between fields.
func TestTypeIntoChromium(t *testing.T) {
	display := xvfbtest.Start(t)
	ctx := xvfbtest.Chromium(t, display)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(formPage))
	}))
	defer srv.Close()
	if err := runCDP(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#id"), chromedp.Focus("#id")); err != nil {
		t.Fatal(err)
	}
	xvfbtest.FocusBrowser(t, ctx, display)
	typist, err := Open(Options{Display: display})
	if err != nil {
		t.Fatal(err)
	}
	defer typist.Close()
	want := []string{"001099012345", "Nguyễn Thị Ánh Tuyết", "20/06/1998", "Buôn Ma Thuột, Đắk Lắk; ơ ư Ỹ"}
	strokes := []Stroke{Text(want[0]), Press(KeyTab), Text(want[1]), Press(KeyTab), Text(want[2]), Text("\t"), Text(want[3])}
	tctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := typist.Type(tctx, strokes); err != nil {
		t.Fatal(err)
	}
	WaitValue(t, ctx, "#place", want[3])
	got := ReadInputs(t, ctx, "#id", "#name", "#birth", "#place")
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %q, want %q", i, got[i], want[i])
		}
	}
	// The temporary bindings are gone: the keymap has as many spare keycodes as before.
	x := typist.(*x11)
	m, err := x.keymap()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Syms {
		if s >= 0x01000100 && s <= 0x0110ffff {
			t.Fatalf("a Unicode keysym %#x is still bound after typing", uint32(s))
		}
	}
}

func isNoDisplay(err error) bool { return errors.Is(err, ErrNoDisplay) }
