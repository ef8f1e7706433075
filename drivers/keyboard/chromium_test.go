//go:build unix

package keyboard

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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

// WaitValue waits until the input sel holds want (typing reaches the page
// asynchronously); on timeout the caller's comparison reports what arrived.
func WaitValue(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf("document.querySelector(%q).value === %q", sel, want)
	runCDP(ctx, chromedp.Poll[chromedp.Void](js))
}
