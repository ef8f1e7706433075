package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/browsertest"
)

// TestDashboardShowsEveryFlowsBlock runs the demo agent with a gate beside its queue,
// clinic and dossiers, and opens the dashboard in Chromium: each flow's card shows the
// title and the rows its block gives, in the block's order, the figures in words as
// the block says them, and a block that needs a look is marked so. Nothing on the page
// is a guess at a flow's shape (no JSON, no "[object Object]").
func TestDashboardShowsEveryFlowsBlock(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	browsertest.Path(t)
	dir := t.TempDir()
	text, err := config.Example(config.ProfileDemo)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, []byte(`
gate:
  enabled: true
  capacity: 10
  lanes:
    - {name: vao, title: Cổng vào, direction: entry}
    - {name: ra, title: Cổng ra, direction: exit}
`)...)
	cfg, err := config.Parse(text, filepath.Join(dir, "demo.yaml"), config.Overrides{DataDir: dir, Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := serveApp(t, cfg, nil)
	base := "http://" + cfg.HTTP.Listen

	call := func(method, path string, body any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+a.Tokens["admin"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	// Some figures to show: two tickets, a dossier received, the site closed by hand
	// (the gate's block then asks for a look).
	for range 2 {
		if code := call("POST", "/api/v1/tickets", map[string]string{"service": "A"}, nil); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("ticket: %d", code)
		}
	}
	if code := call("POST", "/api/v1/dossiers/000.00.13.H40-261202-0001/received", map[string]string{"service": "13"}, nil); code != http.StatusOK {
		t.Logf("dossier received: %d (the dossier card shows zeros)", code)
	}
	if code := call("POST", "/api/v1/gate/site", map[string]string{"state": "closed", "who": "Trần Thị Hoa", "why": "bão"}, nil); code != http.StatusOK {
		t.Fatalf("close the site: %d", code)
	}

	var dash struct {
		Status map[string]web.Block `json:"status"`
	}
	call("GET", "/api/v1/dashboard", nil, &dash)
	for _, name := range []string{"queue", "dossiers", "clinic", "gate", "sync"} {
		b, ok := dash.Status[name]
		if !ok || b.Title == "" || len(b.Rows) == 0 && b.Note == "" {
			t.Fatalf("the dashboard has no %s block: %+v", name, dash.Status)
		}
	}
	if v, _ := dash.Status["queue"].Value("Số phiếu đã phát"); v != "2" {
		t.Errorf("queue block: issued %q, want 2", v)
	}
	if g := dash.Status["gate"]; g.State != web.BlockWarn {
		t.Errorf("gate block with the site closed: state %q, want warn", g.State)
	}

	b := browser(t)
	tab := browsertest.WithStepTimeout(browsertest.Tab(t, b), 20*time.Second)
	browsertest.Do(t, tab, "dashboard", chromedp.Navigate(base+"/?token="+a.Tokens["admin"]),
		browsertest.Poll(`document.querySelectorAll("#status section.card").length >= 5`))
	type card struct {
		Title, Class string
		Rows         [][2]string
	}
	cards := browsertest.Eval[[]card](t, tab, `[...document.querySelectorAll("#status section.card")].map(s => ({
		Title: s.querySelector("h2").firstChild.textContent.trim(), Class: s.className,
		Rows: [...s.querySelectorAll("tr")].map(r => [r.querySelector("th").textContent, r.querySelector("td").textContent])}))`)
	shown := map[string]card{}
	for _, c := range cards {
		shown[c.Title] = c
	}
	for name, blk := range dash.Status {
		c, ok := shown[blk.Title]
		if !ok {
			t.Errorf("%s: no card titled %q on the page", name, blk.Title)
			continue
		}
		if !strings.Contains(c.Class, "block-"+string(blk.State)) {
			t.Errorf("%s: card class %q, block state %q", name, c.Class, blk.State)
		}
		if len(c.Rows) != len(blk.Rows) {
			t.Errorf("%s: %d rows on the page, %d in the block", name, len(c.Rows), len(blk.Rows))
			continue
		}
		for i, r := range blk.Rows {
			// Live figures (a count, a time) may move between the API call and the
			// page's own; labels and their order may not.
			if c.Rows[i][0] != r.Label {
				t.Errorf("%s row %d: %q on the page, %q in the block", name, i, c.Rows[i][0], r.Label)
			}
		}
	}
	text2 := browsertest.TextContent(t, tab, "#status")
	for _, bad := range []string{"[object", "{\"", "undefined", "null"} {
		if strings.Contains(text2, bad) {
			t.Errorf("the dashboard shows %q: %s", bad, text2)
		}
	}
	if n := browsertest.Eval[int](t, tab, `document.querySelectorAll("#status section.block-warn h2 .state").length`); n < 1 {
		t.Errorf("no card is marked for a look (%d)", n)
	}
	browsertest.FullScreenshot(t, tab, "dashboard-blocks")
	browsertest.Eval[bool](t, tab, `(document.querySelector("#status section.block-warn").scrollIntoView(), true)`)
	browsertest.Screenshot(t, tab, "dashboard-blocks-warn")
}
