package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/internal/metrics"
)

func TestHostHeaderOnlyOwnNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(f.base, "http://"), ":")
	f.srv.names["quay1.ubnd.local"] = true // as http.allowed_hosts would
	for host, want := range map[string]int{
		"127.0.0.1:" + port:        200,
		"localhost:" + port:        200,
		"LOCALHOST.:" + port:       200,
		"[::1]:" + port:            200,
		"quay1.ubnd.local:" + port: 200,
		"evil.example:" + port:     http.StatusMisdirectedRequest, // a page that rebound its name to 127.0.0.1
		"8.8.8.8:" + port:          http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest("GET", f.base+"/healthz", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d (%s)", host, resp.StatusCode, want, b)
		}
	}
}

// TestReadJSONIsTheHubsStrictReader: every write the agent takes is read as strictly as
// the hub reads a push: one value, no unknown, duplicate or other-case key, no oversized
// value or body, each refusal saying which key, never the value.
func TestReadJSONIsTheHubsStrictReader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.HandleFunc("POST /test/json", func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			A       int
			Service string `json:"service"`
		}
		if ReadJSON(w, r, &v) {
			WriteJSON(w, 200, v)
		}
	}, RoleCounter)
	secret := strings.Repeat("079190001234", 100)
	for body, want := range map[string]struct {
		code int
		says string
	}{
		`{"a":1}`:                               {200, ""},
		"{\"a\":1,\"service\":\"A\"}\n":         {200, ""},
		`{"a":1}{"a":2}`:                        {400, "data after the first value"},
		`{"a":1} [1]`:                           {400, "data after the first value"},
		`{"a":1} garbage`:                       {400, "data after the first value"},
		`{"a":1,"b":2}`:                         {400, `unknown key \"b\"`},
		`{"service":"A","service":"B"}`:         {400, `key \"service\" twice`},
		`{"Service":"B"}`:                       {400, `must be spelled \"service\"`},
		`{"A":1}`:                               {400, `must be spelled \"a\"`},
		`{"service":"` + secret + secret + `"}`: {400, "at $.service: a string of 2400 bytes, at most 2048"},
		`{"service":"` + strings.Repeat(secret, 60) + `"}`: {413, "request body over 65536 bytes"},
	} {
		req, _ := http.NewRequest("POST", f.base+"/test/json", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.token[RoleCounter])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		short := body[:min(len(body), 40)]
		if resp.StatusCode != want.code || !strings.Contains(string(b), want.says) {
			t.Errorf("%q: %d %s, want %d …%s…", short, resp.StatusCode, b, want.code, want.says)
		}
		if strings.Contains(string(b), "079190001234") {
			t.Errorf("%q: the answer repeats the value", short)
		}
		if want.code != 200 && !strings.Contains(string(b), "Yêu cầu không hợp lệ.") {
			t.Errorf("%q: no Vietnamese message: %s", short, b)
		}
	}
}

func TestKioskAndDisplayGetNothingLinkable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.personal[RoleKiosk] = true // even a config that lists the kiosk among personal-data roles
	open := func(role Role) *bufio.Reader {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v1/stream?topics=scan&token="+f.token[role], nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream as %s: %v %v", role, err, resp)
		}
		r := bufio.NewReader(resp.Body)
		r.ReadString('\n')
		return r
	}
	kiosk, display, counter := open(RoleKiosk), open(RoleDisplay), open(RoleCounter)
	type person struct{ Name string }
	f.bus.Publish(bus.Message{Topic: "scan", Public: struct{ Counter string }{"Q1"},
		Linkable: &bus.Linkable{IDHash: "9f86d081884c7d65", Dossier: "000.00.31.H40-231201-0001"},
		Personal: person{"Nguyễn Văn An"}})
	for role, r := range map[Role]*bufio.Reader{RoleKiosk: kiosk, RoleDisplay: display} {
		m := readEvent(t, r)
		data, _ := m["data"].(map[string]any)
		if data["Counter"] != "Q1" {
			t.Errorf("%s lost the public facts: %v", role, m)
		}
		if m["linkable"] != nil || m["personal"] != nil {
			t.Errorf("%s got something linkable or personal: %v", role, m)
		}
	}
	c := readEvent(t, counter)
	if link, _ := c["linkable"].(map[string]any); link["id_hash"] != "9f86d081884c7d65" || link["dossier"] == nil || c["personal"] == nil {
		t.Errorf("counter should get the pseudonyms and the personal part: %v", c)
	}
}

func TestRecordCreatedPrivate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st, err := os.Stat(filepath.Join(filepath.Dir(f.srv.opts.Config.DataDir), filepath.Base(f.srv.opts.Config.DataDir), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("agent.db has mode %v, want 0600", st.Mode().Perm())
	}
}

// FuzzHostAllowed: the Host header comes from any web page the counter PC opens.
func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8606", "localhost", "[::1]:1", "evil.example:8606", "LOCALHOST.", "127.0.0.1.evil.example", "[::ffff:127.0.0.1]:80", ""} {
		f.Add(s)
	}
	s := &Server{names: map[string]bool{"localhost": true, "quay1.local": true}, ownIPs: map[string]bool{}}
	f.Fuzz(func(t *testing.T, host string) {
		if !s.hostAllowed(host) {
			return
		}
		h := strings.ToLower(host)
		if strings.Contains(h, "evil") {
			t.Fatalf("allowed %q", host)
		}
		if !strings.Contains(h, "localhost") && !strings.Contains(h, "quay1.local") && !strings.ContainsAny(h, ".:") {
			t.Fatalf("allowed %q", host)
		}
	})
}

// TestReadTimeoutCutsSlowBodiesNotStreams: a body trickled slower than the read
// timeout is cut, while an event stream open for longer still delivers.
func TestReadTimeoutCutsSlowBodiesNotStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.Shutdown(context.Background())
	s := New(Options{Config: f.srv.opts.Config, Tokens: f.token, Store: f.st, Bus: f.bus, Health: f.srv.opts.Health,
		Metrics: metrics.New(), Version: "test", ReadTimeout: time.Second})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream?topics=queue&token="+f.token[RoleDisplay], nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	stream := bufio.NewReader(resp.Body)
	stream.ReadString('\n')

	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\nAuthorization: Bearer %s\r\n\r\n{", f.token[RoleKiosk])
	// Cut by the read timeout (1 s here): the server closes, the read ends; the stream,
	// older than that, must still be open below.
	c.SetReadDeadline(time.Now().Add(4500 * time.Millisecond))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("a slow body was not cut by the read timeout: %v", err)
	}

	f.bus.Publish(bus.Message{Topic: "queue", Public: map[string]any{"action": "called", "number": 7}})
	if m := readEvent(t, stream); m["topic"] != "queue" {
		t.Fatalf("stream after the read timeout: %v", m)
	}
}

// TestBoardsAndKiosksNeverGetPersonalData: a config that grants personal data to the
// display or kiosk role (config check refuses it; a config built in code is not
// checked) still gives them none.
func TestBoardsAndKiosksNeverGetPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(o *Options) {
		o.Config.HTTP.PersonalDataRoles = []string{"display", "kiosk", "counter"}
	})
	for role, want := range map[Role]bool{RoleDisplay: false, RoleKiosk: false, RoleCounter: true, RoleAdmin: true} {
		if got := f.srv.MayReceivePersonal(role); got != want {
			t.Errorf("%s may receive personal data: %v, want %v", role, got, want)
		}
	}
}
