package hub

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"motcua-agent/sync/wire"
)

type testHub struct {
	*Hub
	srv *httptest.Server
	now time.Time
}

func startHub(t *testing.T, tune ...func(*Options)) *testHub {
	t.Helper()
	th := &testHub{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	opts := Options{Now: func() time.Time { return th.now }}
	for _, f := range tune {
		f(&opts)
	}
	h, err := newBackend(t).open(opts)
	if err != nil {
		t.Fatal(err)
	}
	th.Hub = h
	th.srv = httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		th.srv.Close()
		h.Close()
	})
	return th
}

func (th *testHub) enroll(t *testing.T, site, device string) []byte {
	t.Helper()
	secret, err := th.Enroll(context.Background(), Site{Code: site, Province: "Nghệ An", Commune: "Phường Vinh Hưng"}, device)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedRequest is one push as an agent would send it, with hooks to break it.
type signedRequest struct {
	device   string
	secret   []byte
	body     []byte
	gzip     bool
	at       time.Time
	tamper   func(*http.Request) // after signing
	encoding string
}

func (th *testHub) do(t *testing.T, sr signedRequest) (int, wire.ErrorResponse, *http.Request) {
	t.Helper()
	body := sr.body
	if sr.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, th.srv.URL+wire.PushPath, bytes.NewReader(body))
	if sr.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if sr.encoding != "" {
		req.Header.Set("Content-Encoding", sr.encoding)
	}
	at := sr.at
	if at.IsZero() {
		at = th.now
	}
	if err := wire.Sign(req, sr.device, sr.secret, body, at); err != nil {
		t.Fatal(err)
	}
	if sr.tamper != nil {
		sr.tamper(req)
	}
	return th.send(t, req)
}

func (th *testHub) send(t *testing.T, req *http.Request) (int, wire.ErrorResponse, *http.Request) {
	t.Helper()
	// Keep a copy of the request to replay it.
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	replay := req.Clone(context.Background())
	replay.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var er wire.ErrorResponse
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(raw, &er); err != nil {
			t.Fatalf("status %d with a body that is not an error response: %s", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, er, replay
}

func pushBody(t *testing.T, site, device string, snaps ...wire.Snapshot) []byte {
	t.Helper()
	b, err := json.Marshal(wire.PushRequest{Schema: wire.SchemaVersion, Site: site, Device: device, Snapshots: snaps,
		Heartbeat: &wire.Heartbeat{Version: "test", Clock: time.Date(2026, 11, 23, 9, 0, 2, 0, time.UTC), Backlog: 1,
			Devices: []wire.DeviceState{{Name: "printer", Kind: "escpos", State: "fault", Detail: "out of paper"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func snap(day, metric string, value, rev int64, dims ...string) wire.Snapshot {
	d := map[string]string{}
	for i := 0; i+1 < len(dims); i += 2 {
		d[dims[i]] = dims[i+1]
	}
	return wire.Snapshot{Day: day, Metric: metric, Dims: d, Value: value, Revision: rev}
}

func (th *testHub) counterRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := th.rdb.QueryRow(`SELECT count(*) FROM counters`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (th *testHub) total(t *testing.T, metric string) int64 {
	t.Helper()
	return th.siteTotal(t, "", metric)
}

func TestPushIsIdempotentAndNewerRevisionWins(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		secret := th.enroll(t, "NA-VH", "pc1")
		push := func(snaps ...wire.Snapshot) {
			t.Helper()
			status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, body: pushBody(t, "NA-VH", "pc1", snaps...), gzip: true})
			if status != http.StatusOK {
				t.Fatalf("push: %d %+v", status, er)
			}
		}
		push(snap("2026-11-20", "tickets.issued", 10, 5, "service", "13"))
		push(snap("2026-11-20", "tickets.issued", 10, 5, "service", "13")) // the same snapshot again
		if got := th.total(t, "tickets.issued"); got != 10 {
			t.Fatalf("after a re-sent snapshot total = %d, want 10", got)
		}
		push(snap("2026-11-20", "tickets.issued", 12, 9, "service", "13"))
		push(snap("2026-11-20", "tickets.issued", 11, 7, "service", "13")) // older revision arrives late
		if got := th.total(t, "tickets.issued"); got != 12 {
			t.Fatalf("after newer then older revision total = %d, want 12", got)
		}
		// A second agent at the same site: totals are sums over agents.
		secret2 := th.enroll(t, "NA-VH", "pc2")
		status, er, _ := th.do(t, signedRequest{device: "pc2", secret: secret2, body: pushBody(t, "NA-VH", "pc2", snap("2026-11-20", "tickets.issued", 3, 1, "service", "13"))})
		if status != http.StatusOK {
			t.Fatalf("push pc2: %d %+v", status, er)
		}
		if got := th.total(t, "tickets.issued"); got != 15 {
			t.Fatalf("sum over agents = %d, want 15", got)
		}
		fleet, err := th.Fleet(context.Background(), Filter{})
		if err != nil || len(fleet) != 2 {
			t.Fatalf("fleet = %+v, %v", fleet, err)
		}
		a := fleet[0]
		if a.Device != "pc1" || a.Version != "test" || a.LastContact == nil || a.ClockOffsetMS != 2000 ||
			len(a.Devices) != 1 || a.Devices[0].State != "fault" || a.Watermark != 9 || a.Pushes != 4 {
			t.Fatalf("fleet entry = %+v", a)
		}
	})
}

func TestAuthenticationFailuresStoreNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		secret := th.enroll(t, "NA-VH", "pc1")
		revokedSecret := th.enroll(t, "NA-VH", "gone")
		if err := th.Revoke(context.Background(), "gone"); err != nil {
			t.Fatal(err)
		}
		body := pushBody(t, "NA-VH", "pc1", snap("2026-11-20", "checkins", 4, 3))
		wrong := bytes.Repeat([]byte{7}, 32)

		// A good request, sent once, to replay afterwards.
		good := signedRequest{device: "pc1", secret: secret, body: body}
		status, _, replay := th.do(t, good)
		if status != http.StatusOK {
			t.Fatalf("good push: %d", status)
		}
		if _, err := th.Hub.db.Exec(`DELETE FROM counters`); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name   string
			req    signedRequest
			status int
			code   string
		}{
			// An unknown device is answered as a wrong secret: the answer tells no one which names are enrolled.
			{"unknown device", signedRequest{device: "stranger", secret: secret, body: pushBody(t, "NA-VH", "stranger", snap("2026-11-20", "checkins", 4, 3))}, 401, wire.CodeBadSignature},
			{"wrong secret", signedRequest{device: "pc1", secret: wrong, body: body}, 401, wire.CodeBadSignature},
			{"tampered body", signedRequest{device: "pc1", secret: secret, body: body, tamper: func(r *http.Request) {
				tampered := bytes.Replace(body, []byte(`"value":4`), []byte(`"value":9`), 1)
				r.Body = io.NopCloser(bytes.NewReader(tampered))
				r.ContentLength = int64(len(tampered))
			}}, 401, wire.CodeBadSignature},
			// A time outside the window is refused from the headers, before the body is read.
			{"tampered timestamp", signedRequest{device: "pc1", secret: secret, body: body, tamper: func(r *http.Request) {
				r.Header.Set(wire.HeaderTime, "1795000000")
			}}, 401, wire.CodeClockSkew},
			{"tampered timestamp in the window", signedRequest{device: "pc1", secret: secret, body: body, tamper: func(r *http.Request) {
				r.Header.Set(wire.HeaderTime, strconv.FormatInt(time.Date(2026, 11, 23, 9, 1, 0, 0, time.UTC).Unix(), 10))
			}}, 401, wire.CodeBadSignature},
			{"missing signature", signedRequest{device: "pc1", secret: secret, body: body, tamper: func(r *http.Request) {
				r.Header.Del(wire.HeaderSignature)
			}}, 401, wire.CodeMissingAuth},
			{"revoked device", signedRequest{device: "gone", secret: revokedSecret, body: pushBody(t, "NA-VH", "gone", snap("2026-11-20", "checkins", 4, 3))}, 403, wire.CodeRevoked},
			{"clock far behind", signedRequest{device: "pc1", secret: secret, body: body, at: th.now.Add(-72 * time.Hour)}, 401, wire.CodeClockSkew},
			{"body names another site", signedRequest{device: "pc1", secret: secret, body: pushBody(t, "HN-01", "pc1", snap("2026-11-20", "checkins", 4, 3))}, 403, wire.CodeWrongSite},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, er, _ := th.do(t, c.req)
				if status != c.status || er.Code != c.code {
					t.Fatalf("got %d %q (%s), want %d %q", status, er.Code, er.Message, c.status, c.code)
				}
				if er.Message == "" || er.HubTime.IsZero() {
					t.Fatalf("error answer lacks a message or the hub time: %+v", er)
				}
			})
		}
		t.Run("replayed request", func(t *testing.T) {
			status, er, _ := th.send(t, replay)
			if status != http.StatusConflict || er.Code != wire.CodeReplay {
				t.Fatalf("replay: got %d %q, want 409 %q", status, er.Code, wire.CodeReplay)
			}
		})
		if n := th.counterRows(t); n != 0 {
			t.Fatalf("%d counter rows stored by refused requests", n)
		}
	})
}

func TestReplayRefusedAfterHubRestart(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		b := newBackend(t)
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		opts := Options{Now: func() time.Time { return now }}
		h, err := b.open(opts)
		if err != nil {
			t.Fatal(err)
		}
		th := &testHub{Hub: h, srv: httptest.NewServer(h.Handler()), now: now}
		secret := th.enroll(t, "S1", "pc1")
		status, _, replay := th.do(t, signedRequest{device: "pc1", secret: secret, body: pushBody(t, "S1", "pc1", snap("2026-11-22", "checkins", 1, 1))})
		if status != http.StatusOK {
			t.Fatal(status)
		}
		th.srv.Close()
		h.Close()
		h2, err := b.open(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer h2.Close()
		th2 := &testHub{Hub: h2, srv: httptest.NewServer(h2.Handler()), now: now}
		defer th2.srv.Close()
		replay.URL.Host = strings.TrimPrefix(th2.srv.URL, "http://")
		replay.Host = replay.URL.Host
		if status, er, _ := th2.send(t, replay); status != http.StatusConflict || er.Code != wire.CodeReplay {
			t.Fatalf("replay after restart: %d %q", status, er.Code)
		}
	})
}

func TestBadInputRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		secret := th.enroll(t, "S1", "pc1")
		valid := func(mod func(*wire.PushRequest)) []byte {
			p := wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: "pc1",
				Snapshots: []wire.Snapshot{snap("2026-11-20", "checkins", 4, 3), snap("2026-11-21", "checkins", 5, 4)}}
			mod(&p)
			b, _ := json.Marshal(p)
			return b
		}
		var bomb bytes.Buffer
		zw := gzip.NewWriter(&bomb)
		zw.Write([]byte(`{"schema":1,"site":"S1","device":"pc1","snapshots":[],"x":"`))
		zw.Write(bytes.Repeat([]byte("A"), wire.MaxDecodedBytes+10))
		zw.Close()
		cases := []struct {
			name   string
			body   []byte
			gz     bool
			enc    string
			status int
			code   string
		}{
			{"malformed JSON", []byte(`{"schema":1,"site":"S1",`), false, "", 400, wire.CodeMalformed},
			{"not gzip", []byte(`{"schema":1}`), false, "gzip", 400, wire.CodeMalformed},
			{"unknown encoding", []byte(`{}`), false, "br", 415, wire.CodeMalformed},
			{"unknown field", []byte(`{"schema":1,"site":"S1","device":"pc1","snapshots":[],"name":"Nguyễn Văn A"}`), false, "", 400, wire.CodeMalformed},
			{"two objects", []byte(`{"schema":1,"site":"S1","device":"pc1","snapshots":[]} {}`), false, "", 400, wire.CodeMalformed},
			{"huge body", bytes.Repeat([]byte(" "), wire.MaxBodyBytes+1), false, "", 413, wire.CodeTooLarge},
			{"zip bomb", bomb.Bytes(), false, "gzip", 413, wire.CodeTooLarge},
			{"future schema version", valid(func(p *wire.PushRequest) { p.Schema = wire.SchemaVersion + 1 }), true, "", 400, wire.CodeSchema},
			{"schema zero", valid(func(p *wire.PushRequest) { p.Schema = 0 }), true, "", 400, wire.CodeSchema},
			{"epoch in schema 1", valid(func(p *wire.PushRequest) { p.Schema = 1; p.Snapshots[1].Epoch = "e1" }), true, "", 422, wire.CodeInvalid},
			{"bad epoch name", valid(func(p *wire.PushRequest) { p.Snapshots[1].Epoch = "a b" }), true, "", 422, wire.CodeInvalid},
			{"negative value", valid(func(p *wire.PushRequest) { p.Snapshots[1].Value = -1 }), true, "", 422, wire.CodeInvalid},
			{"absurd value", valid(func(p *wire.PushRequest) { p.Snapshots[1].Value = 1 << 40 }), true, "", 422, wire.CodeInvalid},
			{"zero revision", valid(func(p *wire.PushRequest) { p.Snapshots[1].Revision = 0 }), true, "", 422, wire.CodeInvalid},
			{"bad day", valid(func(p *wire.PushRequest) { p.Snapshots[1].Day = "2026-13-01" }), true, "", 422, wire.CodeInvalid},
			{"day in 1999", valid(func(p *wire.PushRequest) { p.Snapshots[1].Day = "1999-12-31" }), true, "", 422, wire.CodeInvalid},
			{"day years ahead", valid(func(p *wire.PushRequest) { p.Snapshots[1].Day = "2030-01-01" }), true, "", 422, wire.CodeInvalid},
			{"bad metric", valid(func(p *wire.PushRequest) { p.Snapshots[1].Metric = "drop table" }), true, "", 422, wire.CodeInvalid},
			{"too many dims", valid(func(p *wire.PushRequest) {
				for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
					p.Snapshots[1].Dims[k] = "x"
				}
			}), true, "", 422, wire.CodeInvalid},
			{"long dim value", valid(func(p *wire.PushRequest) { p.Snapshots[1].Dims["service"] = strings.Repeat("x", 65) }), true, "", 422, wire.CodeInvalid},
			{"too many snapshots", valid(func(p *wire.PushRequest) {
				p.Snapshots = make([]wire.Snapshot, wire.MaxSnapshotsPerPush+1)
				for i := range p.Snapshots {
					p.Snapshots[i] = snap("2026-11-20", "checkins", 1, int64(i+1))
				}
			}), true, "", 422, wire.CodeInvalid},
			{"negative backlog", valid(func(p *wire.PushRequest) { p.Heartbeat = &wire.Heartbeat{Backlog: -5} }), true, "", 422, wire.CodeInvalid},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, body: c.body, gzip: c.gz, encoding: c.enc})
				if status != c.status || er.Code != c.code {
					t.Fatalf("got %d %q (%s), want %d %q", status, er.Code, er.Message, c.status, c.code)
				}
			})
		}
		if n := th.counterRows(t); n != 0 {
			t.Fatalf("%d counter rows stored from bad input", n)
		}
		// The same hub still accepts a good push: old days (a month back) included.
		status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, body: valid(func(p *wire.PushRequest) { p.Snapshots[0].Day = "2026-10-01" }), gzip: true})
		if status != http.StatusOK {
			t.Fatalf("good push after bad ones: %d %+v", status, er)
		}
	})
}

func TestEnrollRevokeAndReenroll(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		ctx := context.Background()
		first := th.enroll(t, "S1", "pc1")
		if _, err := th.Enroll(ctx, Site{Code: "S1"}, "pc1"); !errors.Is(err, ErrAlreadyEnrolled) {
			t.Fatalf("second enroll: %v", err)
		}
		if err := th.Revoke(ctx, "nobody"); !errors.Is(err, ErrUnknownDevice) {
			t.Fatalf("revoke unknown: %v", err)
		}
		if err := th.Revoke(ctx, "pc1"); err != nil {
			t.Fatal(err)
		}
		second := th.enroll(t, "S1", "pc1")
		if bytes.Equal(first, second) {
			t.Fatal("re-enrollment kept the old secret")
		}
		body := pushBody(t, "S1", "pc1", snap("2026-11-20", "checkins", 1, 1))
		if status, er, _ := th.do(t, signedRequest{device: "pc1", secret: first, body: body}); status != 401 || er.Code != wire.CodeBadSignature {
			t.Fatalf("old secret after re-enroll: %d %q", status, er.Code)
		}
		if status, _, _ := th.do(t, signedRequest{device: "pc1", secret: second, body: body}); status != 200 {
			t.Fatalf("new secret: %d", status)
		}
		if _, err := th.Enroll(ctx, Site{Code: "bad site"}, "pc9"); err == nil {
			t.Fatal("enrolled a site code with a space")
		}
	})
}

func TestAmbiguousJSONRefusedAndNothingStored(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		key := th.enroll(t, "NA-VH", "pc1")
		good := string(pushBody(t, "NA-VH", "pc1", snap("2026-11-20", "checkins", 4, 3)))
		for name, body := range map[string]string{
			"duplicate key": strings.Replace(good, `"rev":3`, `"rev":3,"rev":9007199254740992`, 1),
			"other case":    strings.Replace(good, `"rev":3`, `"Rev":3`, 1),
			"invalid UTF-8": strings.Replace(good, `"metric":"checkins"`, "\"metric\":\"checkins\",\"dims\":{\"k\":\"\xff\"}", 1),
			"second object": good + good,
			"huge revision": strings.Replace(good, `"rev":3`, `"rev":9223372036854775807`, 1),
			"clock 9999":    strings.Replace(good, `"clock":"2026-11-23T09:00:02Z"`, `"clock":"9999-01-01T00:00:00Z"`, 1),
		} {
			if !strings.Contains(body, "\xff") && body == good {
				t.Fatalf("%s: the body was not altered", name)
			}
			status, er, _ := th.do(t, signedRequest{device: "pc1", secret: key, body: []byte(body)})
			if status < 400 || status >= 500 {
				t.Errorf("%s: %d %+v", name, status, er)
			}
		}
		if n := th.counterRows(t); n != 0 {
			t.Fatalf("%d rows stored from refused pushes", n)
		}
	})
}
