//go:build unix

package keyboard

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/drivers/keyboard/xvfbtest"
)

// HeadfulChromium starts Chromium with a window on display (no --headless), so keys
// typed through the X server reach it as they reach a browser on a desktop.
func HeadfulChromium(t *testing.T, display string) context.Context {
	t.Helper()
	if _, err := exec.LookPath("/usr/bin/chromium"); err != nil {
		t.Skip("chromium not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("window-position", "0,0"), chromedp.WindowSize(1280, 720),
		chromedp.Flag("user-data-dir", t.TempDir()), chromedp.Env("DISPLAY=" + display),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

func runCDP(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(tctx, actions...)
}

// ReadInputs reads the values of the inputs over the DevTools protocol.
func ReadInputs(t *testing.T, ctx context.Context, sels ...string) []string {
	t.Helper()
	out := make([]string, len(sels))
	for i, s := range sels {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := chromedp.Run(tctx, chromedp.Value(s))
		cancel()
		if err != nil {
			t.Fatalf("read %s: %v", s, err)
		}
		out[i] = v
	}
	return out
}

// FocusBrowser gives the browser window the X keyboard focus and its page the
// browser's focus, as an official's click on the window does, and waits until the
// page says it has the focus.
func FocusBrowser(t *testing.T, ctx context.Context, display string) {
	t.Helper()
	xvfbtest.FocusLargest(t, display)
	bringToFront := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, tg.Call(ctx, "Page.bringToFront", nil, nil)
	})
	if err := runCDP(ctx, bringToFront, chromedp.Poll[chromedp.Void]("document.hasFocus()")); err != nil {
		t.Fatalf("the page did not get the focus: %v", err)
	}
}

// WaitValue waits until the input sel holds want (typing reaches the page
// asynchronously); on timeout the caller's comparison reports what arrived.
func WaitValue(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf("document.querySelector(%q).value === %q", sel, want)
	runCDP(ctx, chromedp.Poll[chromedp.Void](js))
}
