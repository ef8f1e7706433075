package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/internal/browsertest"
)

// page has a heading shown in capitals by CSS, a hidden line, a button whose answer
// comes from the server, and a body taller than the viewport.
const page = `<!doctype html><html lang="vi"><meta charset="utf-8"><title>Thử</title>
<body style="margin:0"><h1 id="title" style="text-transform:uppercase">Bàn tiếp đón</h1>
<p id="note">Đang chờ<span hidden> (ẩn)</span></p>
<button id="ask" onclick="fetch('/answer').then(r => r.text()).then(s => document.getElementById('answer').textContent = s)">Hỏi</button>
<p id="answer"></p><div style="height:1500px"></div></body></html>`

func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/answer" {
			w.Write([]byte("Mời vào quầy 2"))
			return
		}
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return cfg.Width, cfg.Height
}

// TestPage: the text a person sees and the DOM's text, values from JavaScript, a wait
// for an answer from the server, and screenshots of the viewport and the whole page.
func TestPage(t *testing.T) {
	shots := t.TempDir()
	t.Setenv("SCREENSHOT_DIR", shots)
	if got := browsertest.ScreenshotDir(t); got != shots {
		t.Fatalf("screenshot folder %q, want $SCREENSHOT_DIR %q", got, shots)
	}
	url := serve(t)
	tab := browsertest.Tab(t, browsertest.Headless(t))
	browsertest.Do(t, tab, "open", chromedp.EmulateViewport(640, 480), chromedp.Navigate(url), chromedp.WaitVisible("#ask"))

	if got := browsertest.Text(t, tab, "#title"); got != "BÀN TIẾP ĐÓN" {
		t.Errorf("Text %q, want the capitals the page shows", got)
	}
	if got := browsertest.TextContent(t, tab, "#title"); got != "Bàn tiếp đón" {
		t.Errorf("TextContent %q, want the DOM's text", got)
	}
	if got := browsertest.Text(t, tab, "#note"); got != "Đang chờ" {
		t.Errorf("Text %q shows a hidden part", got)
	}
	if got := browsertest.TextContent(t, tab, "#note"); got != "Đang chờ (ẩn)" {
		t.Errorf("TextContent %q lacks the hidden part", got)
	}
	if n := browsertest.Eval[int](t, tab, `document.querySelectorAll("p").length`); n != 2 {
		t.Errorf("Eval: %d paragraphs, want 2", n)
	}
	if s := browsertest.Eval[[]string](t, tab, `["a", document.title]`); fmt.Sprint(s) != "[a Thử]" {
		t.Errorf("Eval: %q", s)
	}

	browsertest.Do(t, tab, "ask", chromedp.Click("#ask"),
		browsertest.Poll(`document.getElementById("answer").textContent.length > 0`))
	if got := browsertest.Text(t, tab, "#answer"); got != "Mời vào quầy 2" {
		t.Errorf("answer %q", got)
	}
	// A condition that never holds is an error to the caller, and the test goes on.
	if _, err := browsertest.Run(tab, browsertest.Poll(`false`, chromedp.WithPollingTimeout(100*time.Millisecond))); err == nil {
		t.Error("Poll of a false condition returned no error")
	}

	browsertest.Screenshot(t, tab, "viewport")
	if w, h := pngSize(t, filepath.Join(shots, "viewport.png")); w != 640 || h != 480 {
		t.Errorf("viewport screenshot %dx%d, want 640x480", w, h)
	}
	browsertest.FullScreenshot(t, tab, "whole")
	if w, h := pngSize(t, filepath.Join(shots, "whole.png")); w != 640 || h <= 1500 {
		t.Errorf("whole-page screenshot %dx%d, want 640 wide and taller than the page's 1500 px block", w, h)
	}
}

// recorder is a test that records its fatal message and stops there, as t.Fatalf does.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestDoFailure: a step that fails within its time limit stops the test with what
// failed, and leaves a screenshot of the page named after it.
func TestDoFailure(t *testing.T) {
	shots := t.TempDir()
	t.Setenv("SCREENSHOT_DIR", shots)
	url := serve(t)
	tab := browsertest.Tab(t, browsertest.Headless(t, chromedp.WindowSize(800, 600)))
	browsertest.Do(t, tab, "open", chromedp.Navigate(url), chromedp.WaitVisible("#ask"))

	short := browsertest.WithStepTimeout(tab, time.Second)
	rec := &recorder{TB: t}
	done := make(chan bool)
	go func() {
		finished := false
		defer func() { done <- finished }()
		browsertest.Do(rec, short, "wait for the missing line", chromedp.WaitVisible("#missing"))
		finished = true
	}()
	if <-done {
		t.Fatal("Do went on after a failed step")
	}
	if !strings.HasPrefix(rec.fatal, "wait for the missing line: ") || !strings.Contains(rec.fatal, context.DeadlineExceeded.Error()) {
		t.Errorf("fatal message %q", rec.fatal)
	}
	if w, _ := pngSize(t, filepath.Join(shots, "failed-wait-for-the-missing-line.png")); w != 800 {
		t.Errorf("failure screenshot %d wide, want the 800 px window", w)
	}
	// The step's time limit belongs to the context it was given, not to the tab.
	if got := browsertest.Text(t, tab, "#title"); got != "BÀN TIẾP ĐÓN" {
		t.Errorf("the tab after a failed step shows %q", got)
	}
}
