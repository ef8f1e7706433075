package clinic

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

const (
	counterToken = "counter-token-0123456789"
	displayToken = "display-token-0123456789"
)

// serve runs the agent's web server with the flow's routes for the test.
func (r *rig) serve(t *testing.T) *web.Server {
	t.Helper()
	r.cfg.HTTP.Listen = "127.0.0.1:0"
	srv := web.New(web.Options{Config: r.cfg, Tokens: map[web.Role]string{web.RoleCounter: counterToken, web.RoleDisplay: displayToken},
		Store: r.st, Bus: r.bus, Health: r.hl, Metrics: metrics.New(), Log: r.log})
	r.flow.Register(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// proxy forwards the browser to the agent; close cuts every connection, as a pulled
// network cable would.
type proxy struct {
	addr string
	srv  *http.Server
}

func startProxy(t *testing.T, target, addr string) *proxy {
	t.Helper()
	u, _ := neturl.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // server-sent events pass at once
	var ln net.Listener
	var err error
	testkit.Eventually(t, 5*time.Second, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, "listening again on %s: %v", addr, func() string { return fmt.Sprint(err) })
	p := &proxy{addr: ln.Addr().String(), srv: &http.Server{Handler: rp}}
	go p.srv.Serve(ln)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) close() { p.srv.Close() }

// TestReceptionPageInChromium opens the reception page in headless Chromium: a scan at
// the station shows the patient and the valid card; with the gateway gone a scan shows
// the waiting state and the queue, and its answer when the gateway is back; the page
// fits a PC screen and a tablet in both orientations, and shows no raw codes.
func TestReceptionPageInChromium(t *testing.T) {
	t.Parallel()
	browsertest.Path(t)
	r := newRig(t)
	srv := r.serve(t)
	ctx := browsertest.Headless(t)

	run := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Do(t, ctx, what, a)
	}
	// shows waits until the element sel reads want: the page draws a stream message's
	// public part at once and the patient's fields when its own read of the station
	// comes back, so a field may lag its headline.
	shows := func(what, sel, want string) {
		t.Helper()
		if _, err := browsertest.Run(ctx, browsertest.Poll(fmt.Sprintf(`document.querySelector(%q).innerText === %q`, sel, want))); err != nil {
			t.Fatalf("%s: %s shows %q, want %q (%v)", what, sel, browsertest.Text(t, ctx, sel), want, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		browsertest.Screenshot(t, ctx, name)
	}
	poll := func(what, js string) {
		t.Helper()
		if _, err := browsertest.Run(ctx, browsertest.Poll(js)); err != nil {
			body, _ := browsertest.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v; the page shows:\n%s", what, err, body)
		}
	}

	// The browser reaches the agent through a proxy the test can cut: the reception PC
	// losing the agent.
	px := startProxy(t, srv.Addr(), "127.0.0.1:0")
	url := "http://" + px.addr + "/clinic/reception?station=tiep-don-1&token=" + counterToken
	run("viewport", chromedp.EmulateViewport(1920, 1080))
	run("open the page", chromedp.Navigate(url))
	poll("station title", `document.getElementById("title").textContent === "Bàn tiếp đón số 1"`)
	poll("idle", `document.getElementById("headline").textContent.startsWith("Mời quét mã QR")`)
	poll("live", `document.getElementById("conn").textContent === "Đã kết nối"`)

	valid := r.card("000")
	r.scan("tiep-don-1", qr(valid))
	poll("valid card shown", `document.getElementById("panel").className === "ok"`)
	for sel, want := range map[string]string{"#headline": "Thẻ BHYT còn giá trị sử dụng", "#name": valid.Name,
		"#cardnumber": valid.Number, "#period": valid.ValidFrom + " đến " + valid.ValidTo, "#age": "41 tuổi"} {
		shows("valid card", sel, want)
	}
	shot("clinic-reception-valid")

	// The gateway goes away: the scan waits, and the page says so.
	if err := r.sim.Close(); err != nil {
		t.Fatal(err)
	}
	expired := r.card("010")
	r.scan("tiep-don-1", qr(expired))
	poll("waiting shown", `document.getElementById("headline").textContent === "Chưa kiểm tra được, sẽ kiểm tra lại khi có mạng"`)
	poll("queue shown", `document.getElementById("queued").textContent.startsWith("1 lượt tra cứu đang chờ")`)
	shows("waiting look-up", "#name", expired.Name)
	shot("clinic-reception-offline")
	if _, err := r.sim.Start(r.simAddr); err != nil {
		t.Fatal(err)
	}
	r.waitQueue(1)
	r.advance(r.cfg.Clinic.RetryMax)
	poll("answer after the outage", `document.getElementById("headline").textContent === "Thẻ BHYT đã hết hạn sử dụng"`)
	poll("queue gone", `document.getElementById("queued").hidden === true`)
	shows("expired card", "#cardnumber", expired.Number)

	// Nothing raw or English reaches the nurse.
	body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, raw := range []string{"expired", "valid", "no-card", "queued", "checking", "undefined", "null", "NaN", "010", "maKetQua"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page shows %q", raw)
		}
	}
	// It fits a PC screen and a tablet in both orientations, without sideways scrolling.
	for _, vp := range [][2]int64{{1920, 1080}, {1280, 800}, {800, 1280}} {
		run("viewport", chromedp.EmulateViewport(vp[0], vp[1]))
		fits, err := browsertest.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= document.documentElement.clientWidth`))
		if err != nil || !fits {
			t.Errorf("the page scrolls sideways at %dx%d", vp[0], vp[1])
		}
		// Numbers and dates the nurse copies are never broken across lines.
		unbroken, err := browsertest.Run(ctx, chromedp.Evaluate[bool](`["#cardnumber", "#number", "#birth", "#period .nw"].every(sel =>
			[...document.querySelectorAll(sel)].every(el => { const r = document.createRange(); r.selectNodeContents(el);
				return r.getClientRects().length === 1; }))`))
		if err != nil || !unbroken {
			broken, _ := browsertest.Run(ctx, chromedp.Evaluate[string](`["#cardnumber", "#number", "#birth", "#period .nw"].filter(sel =>
			![...document.querySelectorAll(sel)].every(el => { const r = document.createRange(); r.selectNodeContents(el);
				return r.getClientRects().length === 1; })).join(",")`))
			t.Logf("broken: %s", broken)
			t.Errorf("a number or date is broken across lines at %dx%d (%v)", vp[0], vp[1], err)
		}
	}
	shot("clinic-reception-tablet")

	// The page loses the agent, says so, and comes back by itself.
	px.close()
	poll("agent lost", `document.getElementById("conn").textContent === "Mất kết nối" && !document.getElementById("offline").hidden`)
	shot("clinic-reception-agent-lost")
	startProxy(t, srv.Addr(), px.addr)
	poll("agent back", `document.getElementById("conn").textContent === "Đã kết nối" && document.getElementById("offline").hidden`)

	// A look-up typed on the page.
	renewed := r.card("004")
	run("type the number", chromedp.SendKeys("#f-number", renewed.ID))
	run("type the name", chromedp.SendKeys("#f-name", renewed.Name))
	run("type the birth date", chromedp.SendKeys("#f-birth", renewed.Birth))
	run("send", chromedp.Click(`#typed button`))
	poll("typed look-up", `document.getElementById("headline").textContent === "Đã được cấp thẻ BHYT mới"`)
	shows("new card", "#cardnumber", renewed.NewNumber)
	if n := r.counter(MetricLookups, map[string]string{"source": SourceTyped}); n != 1 {
		t.Fatalf("typed look-ups counted %d", n)
	}
	if op := browsertest.Eval[string](t, ctx, `document.getElementById("operator").selectedOptions[0].textContent`); strings.HasPrefix(op, "dd-") || !strings.HasSuffix(op, "(dd-lan)") {
		t.Errorf("the operator list shows %q: want the nurse's name, the key small beside it", op)
	}
	if left := browsertest.Eval[string](t, ctx, `["f-number", "f-name", "f-birth"].map(id => document.getElementById(id).value).join("")`); left != "" {
		t.Fatalf("the typed fields still hold %q after the look-up", left)
	}

	// Half an hour later the agent forgets the patient, and the screen does too.
	r.advance(onScreen + time.Minute)
	testkit.Eventually(t, 10*time.Second, func() bool {
		st, _ := r.flow.Station("tiep-don-1", true)
		return st.Latest == nil
	}, "the agent to forget the patient")
	run("refresh", chromedp.Evaluate[chromedp.Void](`load()`))
	poll("screen cleared", `document.getElementById("headline").textContent.startsWith("Mời quét mã QR") &&
		document.getElementById("name").textContent === "–" && document.getElementById("cardnumber").textContent === "–"`)
}

// TestAPIRolesAndPersonalData: the station API gives the patient only to roles allowed
// personal data; typed look-ups and operator changes need the counter role and valid
// input.
func TestAPIRolesAndPersonalData(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	srv := r.serve(t)
	base := "http://" + srv.Addr()
	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		return apiCall(t, method, base+path, token, body)
	}
	// The clinic's software listens on the event stream: the patient only for a role
	// allowed personal data.
	streams := map[string]*bufio.Reader{}
	for name, tok := range map[string]string{"counter": counterToken, "display": displayToken} {
		resp, err := http.Get(base + "/api/v1/stream?topics=bhyt&token=" + tok)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream for %s: %v %v", name, err, resp)
		}
		defer resp.Body.Close()
		streams[name] = bufio.NewReader(resp.Body)
	}
	p := r.card("000")
	code, v := call("POST", "/api/v1/clinic/lookups", counterToken,
		`{"station":"tiep-don-2","number":"`+p.ID+`","name":"`+p.Name+`","birth":"`+p.Birth+`"}`)
	if code != http.StatusAccepted || v["state"] != StateChecking {
		t.Fatalf("typed look-up: %d %v", code, v)
	}
	r.next(StateDone)
	for name, rd := range streams {
		var done map[string]any
		for done == nil {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream for %s: %v", name, err)
			}
			if name == "display" && (strings.Contains(line, p.ID) || strings.Contains(line, p.Name) || strings.Contains(line, `"personal"`)) {
				t.Fatalf("the display's stream carries the patient: %s", line)
			}
			var m map[string]any
			if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &m) == nil {
				if d, _ := m["data"].(map[string]any); d["state"] == StateDone {
					done = m
				}
			}
		}
		personal, _ := done["personal"].(map[string]any)
		if d, _ := done["data"].(map[string]any); d["code"] != "000" || d["source"] != SourceTyped {
			t.Fatalf("stream for %s: %v", name, done)
		}
		if (name == "counter") != (personal != nil && personal["name"] == p.Name) {
			t.Fatalf("stream for %s carries personal %v", name, personal)
		}
	}
	_, full := call("GET", "/api/v1/clinic/stations/tiep-don-2", counterToken, "")
	latest, _ := full["latest"].(map[string]any)
	if patient, _ := latest["patient"].(map[string]any); patient == nil || patient["name"] != p.Name || latest["outcome"] != OutcomeOK {
		t.Fatalf("counter role sees %v", full)
	}
	_, shown := call("GET", "/api/v1/clinic/stations/tiep-don-2", displayToken, "")
	if latest, _ := shown["latest"].(map[string]any); latest == nil || latest["patient"] != nil || latest["outcome"] != OutcomeOK {
		t.Fatalf("display role sees %v", shown)
	}
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"POST", "/api/v1/clinic/lookups", displayToken, `{"station":"tiep-don-1","number":"1","name":"a","birth":"1990"}`, http.StatusForbidden},
		{"POST", "/api/v1/clinic/lookups", counterToken, `{"station":"tiep-don-1","number":"099090000001","name":"a","birth":"31/02/1990"}`, http.StatusBadRequest},
		{"POST", "/api/v1/clinic/lookups", counterToken, `{"station":"khong-co","number":"099090000001","name":"a","birth":"1990"}`, http.StatusNotFound},
		{"GET", "/api/v1/clinic/stations/tiep-don-1", "", "", http.StatusUnauthorized},
		{"POST", "/api/v1/clinic/stations/tiep-don-1/operator", counterToken, `{"operator":"khong-co"}`, http.StatusBadRequest},
		{"POST", "/api/v1/clinic/stations/tiep-don-1/operator", counterToken, `{"operator":"dd-hoa"}`, http.StatusOK},
	} {
		if code, body := call(c.method, c.path, c.token, c.body); code != c.want {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, body, c.want)
		}
	}
	if st, _ := r.flow.Station("tiep-don-1", false); st.Operator != "dd-hoa" {
		t.Fatalf("operator not changed: %+v", st)
	}
	code, dash := call("GET", "/api/v1/dashboard", counterToken, "")
	var block web.Block
	b, _ := json.Marshal(dash["status"].(map[string]any)["clinic"])
	json.Unmarshal(b, &block)
	lookups, _ := block.Value("Lượt tra cứu hôm nay")
	ok, _ := block.Value("Tra cứu thành công")
	if code != http.StatusOK || lookups != "1" || ok != "1" || block.State != web.BlockOK {
		t.Fatalf("dashboard block %+v", block)
	}
}

// TestReceptionPageAtTheBound: with the gateway down and max_pending look-ups already
// waiting, the reception page says in Vietnamese that the waiting list is full and the
// new look-up is not kept, without the patient's data.
func TestReceptionPageAtTheBound(t *testing.T) {
	t.Parallel()
	browsertest.Path(t)
	r := newRig(t)
	r.stopFlow()
	r.cfg.Clinic.MaxPending = 1
	r.startFlow()
	srv := r.serve(t)
	if err := r.sim.Close(); err != nil {
		t.Fatal(err)
	}
	r.scan("tiep-don-1", qr(r.card("000")))
	r.next(StateQueued)
	r.waitQueue(1)
	ctx := browsertest.Headless(t)
	browsertest.Do(t, ctx, "open the page", chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate("http://"+srv.Addr()+"/clinic/reception?station=tiep-don-1&token="+counterToken))
	poll := func(what, js string) {
		t.Helper()
		if _, err := browsertest.Run(ctx, browsertest.Poll(js)); err != nil {
			body, _ := browsertest.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v; the page shows:\n%s", what, err, body)
		}
	}
	poll("live", `document.getElementById("conn").textContent === "Đã kết nối"`)
	over := r.card("010")
	r.scan("tiep-don-1", qr(over))
	poll("the bound's headline", `document.getElementById("headline").textContent.includes("số lượt chờ cổng giám định đã đầy")`)
	poll("the full notice", `document.getElementById("queued").textContent.startsWith("Đã có 1 lượt tra cứu chờ cổng giám định BHYT, số lượt chờ đã đầy")`)
	if n := browsertest.Text(t, ctx, "#name"); n == over.Name {
		t.Fatal("the look-up past the bound keeps its patient on the page")
	}
	body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, raw := range []string{"queue-full", "undefined", "null", "NaN"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page shows %q", raw)
		}
	}
	browsertest.Screenshot(t, ctx, "clinic-reception-queue-full")
}
