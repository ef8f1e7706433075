//go:build unix

// Package xvfbtest gives tests a private X server (Xvfb) on a free display, for typing
// through XTEST into a real headful browser. Without Xvfb the test is skipped with a
// reason, unless MOTCUA_REQUIRE_XVFB=1 says the run must have it.
//
// It is for tests only; nothing in the agent may import it.
package xvfbtest

import (
	"bufio"
	"context"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"motcua-agent/internal/browsertest"
)

// Start runs Xvfb on a display it picks itself (-displayfd) with one 1280x720 screen
// and returns the display name (":N"); the server stops when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		if os.Getenv("MOTCUA_REQUIRE_XVFB") == "1" {
			t.Fatal("Xvfb not installed (Debian: xvfb) and MOTCUA_REQUIRE_XVFB=1")
		}
		t.Skip("Xvfb not installed (Debian: xvfb); set MOTCUA_REQUIRE_XVFB=1 to make this a failure")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x720x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb exited without a display number")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb gave no display number within 20 s")
	}
	return ""
}

// FocusLargest gives the keyboard focus to the largest mapped top-level window (the
// browser's), as a window manager does when a person clicks a window; Xvfb runs none.
func FocusLargest(t testing.TB, display string) {
	t.Helper()
	xgb.Logger = log.New(io.Discard, "", 0)
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := xproto.Setup(conn).DefaultScreen(conn).Root
	deadline := time.Now().Add(20 * time.Second)
	for {
		best, area := xproto.Window(0), 0
		tree, err := xproto.QueryTree(conn, root).Reply()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tree.Children {
			attr, err := xproto.GetWindowAttributes(conn, w).Reply()
			if err != nil || attr.MapState != xproto.MapStateViewable || attr.OverrideRedirect {
				continue
			}
			g, err := xproto.GetGeometry(conn, xproto.Drawable(w)).Reply()
			if err != nil {
				continue
			}
			if a := int(g.Width) * int(g.Height); a > area {
				best, area = w, a
			}
		}
		if best != 0 {
			if err := xproto.SetInputFocusChecked(conn, xproto.InputFocusParent, best, xproto.TimeCurrentTime).Check(); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no mapped window to focus on the X server")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Chromium starts Chromium with a window on display (no --headless), so keys
// typed through the X server reach it as they reach a browser on a desktop.
func Chromium(t testing.TB, display string) context.Context {
	t.Helper()
	return browsertest.Launch(t, chromedp.NoDefaultBrowserCheck, chromedp.Flag("window-position", "0,0"),
		chromedp.WindowSize(1280, 720), chromedp.Flag("user-data-dir", t.TempDir()), chromedp.Env("DISPLAY="+display))
}

// FocusBrowser gives the browser window the X keyboard focus and its page the
// browser's focus, as an official's click on the window does, and waits until the
// page says it has the focus.
func FocusBrowser(t testing.TB, ctx context.Context, display string) {
	t.Helper()
	FocusLargest(t, display)
	bringToFront := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, tg.Call(ctx, "Page.bringToFront", nil, nil)
	})
	if _, err := browsertest.Run(ctx, chromedp.Steps(bringToFront, browsertest.Poll("document.hasFocus()"))); err != nil {
		t.Fatalf("the page did not get the focus: %v", err)
	}
}

// PressKey presses and releases the key with keysym on display through XTEST, as a
// person's finger does (a grab on it sees it like a real key).
func PressKey(t testing.TB, display string, keysym uint32) {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := xtest.Init(conn); err != nil {
		t.Fatal(err)
	}
	setup := xproto.Setup(conn)
	n := byte(int(setup.MaxKeycode) - int(setup.MinKeycode) + 1)
	km, err := xproto.GetKeyboardMapping(conn, setup.MinKeycode, n).Reply()
	if err != nil {
		t.Fatal(err)
	}
	per := int(km.KeysymsPerKeycode)
	for i := 0; i*per < len(km.Keysyms); i++ {
		if uint32(km.Keysyms[i*per]) != keysym {
			continue
		}
		code := byte(int(setup.MinKeycode) + i)
		root := setup.DefaultScreen(conn).Root
		for _, kind := range []byte{xproto.KeyPress, xproto.KeyRelease} {
			if err := xtest.FakeInputChecked(conn, kind, code, 0, root, 0, 0, 0).Check(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	t.Fatalf("keysym %#x is not on the keymap", keysym)
}
