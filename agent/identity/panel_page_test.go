//go:build unix

package identity_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"motcua-agent/agent/app"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/testkit"
)

// panelAgent is the whole agent on the demo config with the real card reader (pcscd +
// vpcd) on counter 2 and a QR scanner on a pty at counter 2; its log goes to a file
// the test reads.
type panelAgent struct {
	app     *app.App
	base    string
	token   string
	scanner *ptypair.Pair
	logPath string
	ctx     context.Context
}

func startPanelAgent(t *testing.T, edit func(*config.Config)) *panelAgent {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	browsertest.Path(t)
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	reader := vpcd.ReaderName(vpcd.DefaultAddr)
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pair, err := ptypair.Open(ctx, dir, "qr-2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pair.Stop)
	trust := filepath.Join(dir, "trust")
	if _, err := identity.ImportTrust(trust, filepath.Join("..", "..", "testdata", "cards", "pki", "test", "csca.der")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Simulate = false // the test's own card and scanner, not the demo's
	cfg.Clinic.Enabled = false
	cfg.Card.Enabled = true
	cfg.Card.TrustDir = trust
	cfg.Card.Readers = []config.CardReader{{Name: reader, Counter: "2"}}
	cfg.Scanners = []config.Scanner{{Name: "qr-2", Counter: "2", Purpose: config.ScanForIdentity, Port: pair.Device,
		Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600}}
	if edit != nil {
		edit(cfg)
	}
	// The agent logs to stderr: send it to a file for the whole test, to look for
	// personal data in it afterwards.
	logPath := filepath.Join(dir, "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = logFile
	a, err := app.Open(ctx, cfg)
	os.Stderr = stderr
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done; a.Close(); logFile.Close() })
	base := "http://" + cfg.HTTP.Listen
	testkit.Eventually(t, 30*time.Second, func() bool {
		r, err := http.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	}, "the agent to start")
	return &panelAgent{app: a, base: base, token: cfg.HTTP.Tokens.Counter, scanner: pair, logPath: logPath, ctx: ctx}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scan plays a QR payload on the scanner's host end, as a scanner sends it.
func (p *panelAgent) scan(t *testing.T, payload string) {
	t.Helper()
	f, err := os.OpenFile(p.scanner.Host, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte(payload + "\r")); err != nil {
		t.Fatal(err)
	}
}

func (p *panelAgent) insert(t *testing.T, c *simcard.Citizen, opt simcard.Options) *pcsctest.Slot {
	t.Helper()
	card, err := c.Card(opt)
	if err != nil {
		t.Fatal(err)
	}
	return pcsctest.Insert(t, p.ctx, vpcd.DefaultAddr, card, vpcd.Options{})
}

// noPersonalData fails when any of secrets is in the agent's log or stored events.
func (p *panelAgent) noPersonalData(t *testing.T, secrets ...string) {
	t.Helper()
	logText, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := p.app.Store.Events(p.ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := json.Marshal(evs)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, where := range []struct {
			name string
			text []byte
		}{{"log", logText}, {"stored events", stored}} {
			if bytes.Contains(where.text, []byte(s)) {
				t.Errorf("%s holds personal data %.20q…", where.name, s)
			}
		}
	}
}

func citizen(t *testing.T, name string) *simcard.Citizen {
	t.Helper()
	c, err := simcard.Load(filepath.Join("..", "..", "testdata", "cards", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tab opens a tab with the counter PC's 1280x720 page; a step on it may take 40 s, as
// a card read does under the race detector.
func tab(t *testing.T, b context.Context) context.Context {
	t.Helper()
	ctx := browsertest.WithStepTimeout(browsertest.Tab(t, b), 40*time.Second)
	browsertest.Do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 720))
	return ctx
}

// TestPanelOnCounterConsole: a card read at counter 2 (QR on the pty scanner, the
// card on the real pcscd) shows on counter 2's console with the facts and the photo;
// counter 1's console shows nothing of it; a wrong key and a tampered DG13 show what
// failed and what to do, in Vietnamese; nothing personal reaches the log or the record.
func TestPanelOnCounterConsole(t *testing.T) {
	p := startPanelAgent(t, nil)
	an, cuong := citizen(t, "an-cccd2021"), citizen(t, "cuong-spouse-cmnd")
	b := browsertest.Headless(t, chromedp.WindowSize(1280, 720))
	c2, c1 := tab(t, b), tab(t, b)
	// Note every event stream the console opens: it must hold one (the queue's, which
	// also carries the panel's changes), not one more for the panel.
	browsertest.Do(t, c2, "watch event streams", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__streams = [];
			const ES = window.EventSource;
			window.EventSource = function (url, opts) { window.__streams.push(String(url)); return new ES(url, opts); };`})
		return chromedp.Void{}, err
	})
	browsertest.Do(t, c2, "open counter 2", chromedp.Navigate(p.base+"/counter?counter=2&token="+p.token), chromedp.WaitVisible(".idp-head"))
	browsertest.Do(t, c1, "open counter 1", chromedp.Navigate(p.base+"/counter?counter=1&token="+p.token), chromedp.WaitVisible(".idp-head"))

	// A verified card.
	p.scan(t, an.QR)
	placed := time.Now()
	slot := p.insert(t, an, simcard.Options{})
	browsertest.Do(t, c2, "verified card on counter 2", chromedp.WaitVisible(`[data-identity-panel][data-outcome="ok"] .idp-facts`))
	t.Logf("card on the reader to the result on counter 2's console: %v (informative; speed is not asserted)", time.Since(placed))
	facts := browsertest.Text(t, c2, ".idp-facts")
	for _, want := range []string{"Chip thật", "Dữ liệu không bị sửa", "Mã QR khớp với chip", "Chuỗi chứng thư: tin cậy"} {
		if !strings.Contains(facts, want) {
			t.Errorf("facts lack %q: %s", want, facts)
		}
	}
	if got := browsertest.Text(t, c2, `.idp-field[data-key="name"] dd`); got != an.DG13.Name {
		t.Errorf("name on the panel %q, want %q", got, an.DG13.Name)
	}
	if got := browsertest.Text(t, c2, `.idp-field[data-key="id"] dd`); got != an.DG13.ID {
		t.Errorf("ID on the panel %q, want %q", got, an.DG13.ID)
	}
	photo := browsertest.Eval[string](t, c2, `(document.querySelector(".idp-photo img") || {}).src || ""`)
	if !strings.HasPrefix(photo, "data:image/jpeg;base64,") {
		t.Errorf("no photo from the chip: %.40q", photo)
	} else if jpeg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(photo, "data:image/jpeg;base64,")); err != nil || len(jpeg) < 100 {
		t.Errorf("photo does not decode: %v", err)
	}
	if w := browsertest.Eval[float64](t, c2, `document.querySelector(".idp-photo img").naturalWidth`); w == 0 {
		t.Error("the photo is not a displayable image")
	}
	browsertest.Screenshot(t, c2, "panel-counter-verified")
	browsertest.Do(t, c2, "full HD", chromedp.EmulateViewport(1920, 1080))
	browsertest.Screenshot(t, c2, "panel-counter-verified-1920x1080")
	browsertest.Do(t, c2, "back to 1280x720", chromedp.EmulateViewport(1280, 720))
	if streams := browsertest.Eval[[]string](t, c2, `window.__streams`); len(streams) != 1 || !strings.Contains(streams[0], "identity.panel") {
		t.Errorf("the console opened event streams %q; want one, carrying the panel's changes", streams)
	}
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}

	// Counter 1's console: nothing of counter 2's read.
	body := browsertest.Eval[string](t, c1, `document.body.innerText`)
	if strings.Contains(body, an.DG13.Name) || strings.Contains(body, an.DG13.ID) || browsertest.Eval[string](t, c1, `document.querySelector("[data-identity-panel]").dataset.state`) != "" {
		t.Errorf("counter 1 shows counter 2's read: %s", body)
	}

	// A wrong key: another citizen's QR for this card.
	p.scan(t, cuong.QR)
	slot = p.insert(t, an, simcard.Options{})
	browsertest.Do(t, c2, "wrong key on counter 2", chromedp.WaitVisible(`[data-identity-panel][data-outcome="failed"] .idp-facts li[data-check="access"].bad`))
	if got := browsertest.Text(t, c2, ".idp-facts"); !strings.Contains(got, "Không mở được chip") || !strings.Contains(got, "Quét mã QR trên chính thẻ này") {
		t.Errorf("wrong key facts: %s", got)
	}
	if n := browsertest.Eval[float64](t, c2, `document.querySelectorAll(".idp-field").length`); n != 0 {
		t.Errorf("a failed open shows %v holder fields", n)
	}
	browsertest.Screenshot(t, c2, "panel-counter-wrong-key")
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}

	// A tampered DG13.
	p.scan(t, an.QR)
	slot = p.insert(t, an, simcard.Options{TamperDG13: true})
	browsertest.Do(t, c2, "tampered card on counter 2", chromedp.WaitVisible(`[data-identity-panel][data-outcome="failed"] .idp-facts li[data-check="data"].bad`))
	got := browsertest.Text(t, c2, ".idp-facts")
	for _, want := range []string{"Dữ liệu trong chip đã bị sửa", "Thẻ có dấu hiệu bị sửa: không tiếp nhận, báo cán bộ phụ trách."} {
		if !strings.Contains(got, want) {
			t.Errorf("tampered facts lack %q: %s", want, got)
		}
	}
	if h := browsertest.Text(t, c2, ".idp-headline"); h != "Cảnh báo: thẻ không đạt kiểm tra" {
		t.Errorf("headline %q", h)
	}
	if n := browsertest.Eval[float64](t, c2, `document.querySelectorAll(".idp-type-btn, button[data-copy]").length`); n != 0 {
		t.Error("a tampered card's data is offered for typing or copying")
	}
	browsertest.Screenshot(t, c2, "panel-counter-tampered")
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}

	// "Xóa" forgets the holder at once, on every page of the counter.
	c2b := tab(t, b)
	browsertest.Do(t, c2b, "open the small page", chromedp.Navigate(p.base+"/identity/panel?counter=2&token="+p.token),
		chromedp.WaitVisible(`[data-identity-panel][data-outcome="failed"]`))
	browsertest.Screenshot(t, c2b, "panel-small-page-tampered")
	browsertest.Do(t, c2, "clear", chromedp.Click(".idp-clear"), chromedp.WaitVisible(`[data-identity-panel][data-state=""]`))
	browsertest.Do(t, c2b, "cleared on the small page", chromedp.WaitVisible(`[data-identity-panel][data-state=""]`))
	if body := browsertest.Eval[string](t, c2b, `document.body.innerText`); strings.Contains(body, an.DG13.Name) {
		t.Errorf("the small page still shows the holder: %s", body)
	}

	// No QR at hand: the card waits on the reader, the official types the six digits
	// printed on its front into the panel and the chip is read and verified.
	slot = p.insert(t, an, simcard.Options{})
	browsertest.Do(t, c2, "card waiting for its number", chromedp.WaitVisible(`[data-identity-panel][data-state="waiting-for-keys"] .idp-keys input[name="key"]`))
	browsertest.Do(t, c2, "a number too short", chromedp.SendKeys(`.idp-keys input[name="key"]`, "12345"), chromedp.Click(`.idp-keys button`),
		chromedp.WaitVisible(`.idp-key-status`))
	if got := browsertest.Text(t, c2, ".idp-key-status"); !strings.Contains(got, "6 chữ số") {
		t.Errorf("a 5-digit number: %q", got)
	}
	browsertest.Screenshot(t, c2, "panel-counter-type-number")
	browsertest.Do(t, c2, "type the number on the card", chromedp.SetValue(`.idp-keys input[name="key"]`, an.CAN()), chromedp.Click(`.idp-keys button`),
		chromedp.WaitVisible(`[data-identity-panel][data-outcome="ok"] .idp-facts`))
	if got := browsertest.Text(t, c2, `.idp-facts li[data-check="access"]`); !strings.Contains(got, "Đã mở được chip bằng số in trên thẻ") || strings.Contains(got, "PACE") {
		t.Errorf("access fact after typing the number: %q", got)
	}
	if err := slot.WaitGone(p.ctx); err != nil {
		t.Fatal(err)
	}

	photoB64 := base64.StdEncoding.EncodeToString(mustRead(t, filepath.Join("..", "..", "testdata", "cards", an.Photo)))
	p.noPersonalData(t, an.DG13.Name, an.DG13.ID, an.DG13.Residence, cuong.DG13.Name, cuong.DG13.ID, photoB64[:64])
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
