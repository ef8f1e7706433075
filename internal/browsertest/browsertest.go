// Package browsertest drives this machine's Chromium (Debian's chromium) for the
// tests of the pages: one launch with the flags the machine needs, tabs, steps with a
// time limit and a screenshot when they fail, and a page's text and values.
//
// It is for tests only: nothing but _test.go files and test helper packages may
// import it, and it never decides what a test asserts.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// StepTimeout is how long one step (Do, Run, Text, Eval, a screenshot) may take
// unless WithStepTimeout says otherwise.
const StepTimeout = 30 * time.Second

// Path returns Chromium's path; without Chromium the test is skipped.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// Flags are the options every Chromium on this machine needs, headless or with a
// window: no sandbox (tests run as root), no GPU, and nothing that reaches the network
// on its own.
func Flags(path string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
}

// Launch starts Chromium with Flags and then opts (later options win), and returns
// the browser's context, whose first tab is ready for steps. The browser stops when the
// test ends; without Chromium the test is skipped.
func Launch(t testing.TB, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	all := append(Flags(Path(t)), opts...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), all...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	// The first step on a context decides how long the browser lives: no time limit.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// Headless starts headless Chromium (see Launch); extra options such as a window
// size or a flag a page needs are added to the usual ones.
func Headless(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return Launch(t, append([]chromedp.ExecAllocatorOption{chromedp.Headless}, extra...)...)
}

// Tab opens a new tab in browser that lives until the test ends.
func Tab(t testing.TB, browser context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

type stepTimeoutKey struct{}

// WithStepTimeout returns ctx whose steps may each take d instead of StepTimeout,
// for a page that waits on slow work (a card read under the race detector).
func WithStepTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, stepTimeoutKey{}, d)
}

func stepTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(stepTimeoutKey{}).(time.Duration); ok {
		return d
	}
	return StepTimeout
}

// Run runs one action on the tab of ctx within the step's time limit and returns its
// value and error; the test goes on either way.
func Run[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	tctx, cancel := context.WithTimeout(ctx, stepTimeout(ctx))
	defer cancel()
	return chromedp.Run(tctx, a)
}

// Do runs actions in order on the tab of ctx within the step's time limit. When one
// fails it saves a whole-page screenshot "failed-<what>" and stops the test.
func Do(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := Run(ctx, chromedp.Steps(actions...)); err != nil {
		FullScreenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

// Text returns the text a person sees (innerText) of the first element that matches
// sel, once it is there. The element is looked up and read in the page in one turn: on
// a page that redraws itself (the identity panel as a new read comes), a node found in
// one step and read in the next may be gone ("No node with given id found").
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := Run(ctx, chromedp.Poll[[]string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? [e.innerText] : null })()`, sel)))
	if err != nil || len(s) != 1 {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s[0]
}

// TextContent returns the DOM's text (textContent, hidden parts and CSS case
// untouched) of the first element that matches the CSS selector sel, now.
func TextContent(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Eval evaluates the JavaScript expression js on the page and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Poll is a step that waits until the JavaScript expression is true (by default for
// at most 30 s; chromedp.WithPollingTimeout changes it).
func Poll(expr string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, opts...)
}

// Click is a step that clicks, once, the first element matching the CSS selector sel,
// as soon as there is one. The click happens in the page, in the same turn as the
// look-up: on a page that redraws itself (the kiosk's buttons as the queue changes), a
// node found in one step and clicked in the next may be gone ("Could not find node
// with given id").
func Click(sel string) chromedp.Action[chromedp.Void] {
	return Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, sel))
}

// ScreenshotDir is $SCREENSHOT_DIR when set (screenshots to look at), else the
// test's temporary folder: never the source tree.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Screenshot saves what the tab's viewport shows as <name>.png in ScreenshotDir.
// A screenshot that cannot be taken fails the test but does not stop it.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	save(t, ctx, name, chromedp.CaptureScreenshot())
}

// FullScreenshot saves the whole page, beyond the viewport, as <name>.png in
// ScreenshotDir.
func FullScreenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	save(t, ctx, name, chromedp.FullScreenshot(100))
}

func save(t testing.TB, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	buf, err := Run(ctx, capture)
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(ScreenshotDir(t), name+".png"), buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}
