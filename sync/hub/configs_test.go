package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/sync/wire"
)

// steerPush pushes a heartbeat that reports a configuration state and returns the
// answer's offer.
func (th *testHub) steerPush(t *testing.T, site, device string, secret []byte, st wire.ConfigState) *wire.ConfigOffer {
	t.Helper()
	body, err := json.Marshal(wire.PushRequest{Schema: wire.SteeringSchema, Site: site, Device: device,
		Heartbeat: &wire.Heartbeat{Version: "test", Clock: th.now, Config: &st}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, th.srv.URL+wire.PushPath, bytes.NewReader(body))
	if err := wire.Sign(req, device, secret, body, th.now); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", resp.StatusCode, raw)
	}
	var pr wire.PushResponse
	if err := json.Unmarshal(raw, &pr); err != nil {
		t.Fatal(err)
	}
	return pr.Config
}

// fetch is a signed GET of the device's configuration: status, error code, body.
func (th *testHub) fetch(t *testing.T, device string, secret []byte) (int, string, []byte, *http.Request) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, th.srv.URL+wire.ConfigPath, nil)
	if err := wire.Sign(req, device, secret, nil, th.now); err != nil {
		t.Fatal(err)
	}
	again := req.Clone(context.Background())
	return th.fetchReq(t, req, again)
}

func (th *testHub) fetchReq(t *testing.T, req, again *http.Request) (int, string, []byte, *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var er wire.ErrorResponse
		if err := json.Unmarshal(raw, &er); err != nil {
			t.Fatalf("%d with a body that is not an error: %s", resp.StatusCode, raw)
		}
		return resp.StatusCode, er.Code, nil, again
	}
	return resp.StatusCode, "", raw, again
}

// The province publishes for itself, a commune and a site; each device is offered its
// own composition (the site's over the commune's over the province's), fetches exactly
// the offered bytes, and never another site's layer. The fetch is authenticated like a
// push, bounded, and the published tokens stay out of the logs and the database's plain
// text.
func TestConfigPublishedOfferedAndFetched(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		var logs bytes.Buffer
		th := startHub(t, func(o *Options) {
			o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		ctx := context.Background()
		s1 := th.enroll(t, "vinh-hung", "quay-1") // commune Phường Vinh Hưng
		raw2, err := th.Enroll(ctx, Site{Code: "cua-lo", Commune: "Phường Cửa Lò"}, "quay-9")
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := wire.ParseSecret(raw2)

		const token = "kiosk-token-from-the-province-1234"
		pub := func(tg ConfigTarget, v, text string) error {
			_, err := th.PublishConfig(ctx, tg, v, []byte(text))
			return err
		}
		if err := pub(ConfigTarget{All: true}, "1", "log:\n  level: warn\nsync:\n  interval: 2m\n"); err != nil {
			t.Fatal(err)
		}
		if err := pub(ConfigTarget{Commune: "Phường Vinh Hưng"}, "1", "log:\n  level: debug\n"); err != nil {
			t.Fatal(err)
		}
		if err := pub(ConfigTarget{Site: "vinh-hung"}, "7", "http:\n  tokens:\n    kiosk: "+token+"\n"); err != nil {
			t.Fatal(err)
		}
		// Versions move forward only; a device's own settings are refused; so is a section
		// the site file does not have.
		if err := pub(ConfigTarget{Site: "vinh-hung"}, "7", "log:\n  level: info\n"); !errors.Is(err, ErrConfigVersion) {
			t.Fatalf("same version again: %v", err)
		}
		if err := pub(ConfigTarget{Site: "vinh-hung"}, "6.9", "log:\n  level: info\n"); !errors.Is(err, ErrConfigVersion) {
			t.Fatalf("older version: %v", err)
		}
		if err := pub(ConfigTarget{All: true}, "2", "sync:\n  secret: 00112233445566778899aabbccddeeff\n"); err == nil || !strings.Contains(err.Error(), "sync.secret") {
			t.Fatalf("a device secret in a published config: %v", err)
		}
		if err := pub(ConfigTarget{All: true}, "2", "servcies: []\n"); err == nil || !strings.Contains(err.Error(), "unknown section") {
			t.Fatalf("a misspelt section: %v", err)
		}
		if err := pub(ConfigTarget{All: true, Site: "x"}, "2", "log:\n  level: info\n"); err == nil {
			t.Fatal("two targets at once were accepted")
		}

		offer := th.steerPush(t, "vinh-hung", "quay-1", s1, wire.ConfigState{Source: "hub"})
		if offer == nil || offer.Version != "all@1+commune@1+site@7" {
			t.Fatalf("offer to quay-1: %+v", offer)
		}
		code, _, body, again := th.fetch(t, "quay-1", s1)
		if code != http.StatusOK {
			t.Fatalf("fetch: %d", code)
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != offer.SHA256 {
			t.Fatal("the fetched bytes are not the offered digest's")
		}
		for _, want := range []string{"level: debug", "interval: 2m", "kiosk: " + token} {
			if !strings.Contains(string(body), want) {
				t.Fatalf("composed configuration lacks %q:\n%s", want, body)
			}
		}
		// The same request again is a replay; a fresh one at once is over the device's bound.
		th.now = th.now.Add(addressFetchEvery)
		if code, ecode, _, _ := th.fetchReq(t, again, again); code != http.StatusConflict || ecode != wire.CodeReplay {
			t.Fatalf("replayed fetch: %d %s", code, ecode)
		}
		th.now = th.now.Add(addressFetchEvery)
		if code, ecode, _, _ := th.fetch(t, "quay-1", s1); code != http.StatusTooManyRequests || ecode != wire.CodeBusy {
			t.Fatalf("second fetch at once: %d %s", code, ecode)
		}
		th.now = th.now.Add(configFetchEvery)

		// Another site's device gets only the province's layer, never vinh-hung's.
		offer2 := th.steerPush(t, "cua-lo", "quay-9", s2, wire.ConfigState{Source: "hub"})
		if offer2 == nil || offer2.Version != "all@1" {
			t.Fatalf("offer to quay-9: %+v", offer2)
		}
		_, _, body2, _ := th.fetch(t, "quay-9", s2)
		if strings.Contains(string(body2), token) || strings.Contains(string(body2), "debug") {
			t.Fatalf("another site's device received vinh-hung's layer:\n%s", body2)
		}
		th.now = th.now.Add(configFetchEvery)

		// An unknown device and a wrong secret get the same answer.
		code1, e1, _, _ := th.fetch(t, "khong-co", s1)
		th.now = th.now.Add(configFetchEvery)
		code2, e2, _, _ := th.fetch(t, "quay-9", s1)
		if code1 != http.StatusUnauthorized || code1 != code2 || e1 != e2 || e1 != wire.CodeBadSignature {
			t.Fatalf("unknown device %d %s, wrong secret %d %s", code1, e1, code2, e2)
		}

		// Running it, or having refused it, stops the offers; the refusal reaches the fleet.
		if o := th.steerPush(t, "vinh-hung", "quay-1", s1, wire.ConfigState{Source: "hub", Version: offer.Version}); o != nil {
			t.Fatalf("offered what it runs: %+v", o)
		}
		if o := th.steerPush(t, "vinh-hung", "quay-1", s1, wire.ConfigState{Source: "hub", Version: "all@1",
			Refused: offer.Version, Reason: "config check: queue.services[0].code: required"}); o != nil {
			t.Fatalf("offered what it refused: %+v", o)
		}
		fleet, err := th.Fleet(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var got *FleetConfig
		for _, a := range fleet {
			if a.Device == "quay-1" {
				got = a.Config
			}
		}
		if got == nil || got.Refused != offer.Version || got.Published != offer.Version || got.Version != "all@1" ||
			!strings.Contains(got.Reason, "queue.services[0].code") {
			t.Fatalf("fleet's config of quay-1: %+v", got)
		}
		// A later publication for the site is offered again.
		th.now = th.now.Add(configCacheTTL)
		if err := pub(ConfigTarget{Site: "vinh-hung"}, "8", "log:\n  level: info\n"); err != nil {
			t.Fatal(err)
		}
		if o := th.steerPush(t, "vinh-hung", "quay-1", s1, wire.ConfigState{Source: "hub", Version: "all@1", Refused: offer.Version}); o == nil || o.Version != "all@1+commune@1+site@8" {
			t.Fatalf("after a new publication: %+v", o)
		}

		if strings.Contains(logs.String(), token) {
			t.Fatal("a published token reached the hub's log")
		}
		var stored string
		if err := th.rdb.QueryRow(`SELECT body FROM configs WHERE target = 'site:vinh-hung'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, "level") || !strings.HasPrefix(stored, sealedPrefix) {
			t.Fatalf("the published configuration is stored in plain text: %.60s", stored)
		}
		list, err := th.PublishedConfigs(ctx)
		if err != nil || len(list) != 3 || list[0].Target != "all" || list[2].Version != "8" {
			t.Fatalf("published list: %+v %v", list, err)
		}
	})
}

// Without anything published the fetch says so, and an agent that reports no state
// (before schema 4) is offered nothing.
func TestConfigNothingPublished(t *testing.T) {
	th := startHub(t)
	s := th.enroll(t, "vinh-hung", "quay-1")
	if o := th.steerPush(t, "vinh-hung", "quay-1", s, wire.ConfigState{Source: "hub"}); o != nil {
		t.Fatalf("offer with nothing published: %+v", o)
	}
	if code, ecode, _, _ := th.fetch(t, "quay-1", s); code != http.StatusNotFound || ecode != wire.CodeNoConfig {
		t.Fatalf("fetch with nothing published: %d %s", code, ecode)
	}
	if _, err := th.PublishConfig(context.Background(), ConfigTarget{All: true}, "", []byte("log:\n  level: warn\n")); err != nil {
		t.Fatal(err)
	}
	th.now = th.now.Add(time.Minute)
	status, _, _ := th.do(t, signedRequest{device: "quay-1", secret: s, body: pushBody(t, "vinh-hung", "quay-1")})
	if status != http.StatusOK {
		t.Fatalf("plain push: %d", status)
	}
}

func TestVersionOrder(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{
		{"1", "2", true}, {"9", "10", true}, {"10", "9", false}, {"1.9", "1.10", true}, {"3", "20261206.153000", true},
		{"20261206.153000", "20261206.153001", true}, {"2", "2", false}, {"a", "b", true}, {"v1", "v1a", true},
		{"007", "7", false}, {"1.2.3", "1.2.3-rc1", true},
	} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}

// The agent reads no more than the hub publishes: one bound, said twice because the
// wire package imports nothing of ours.
func TestConfigBoundsAgree(t *testing.T) {
	if wire.MaxConfigBytes != config.MaxLayerBytes {
		t.Fatalf("wire.MaxConfigBytes %d, config.MaxLayerBytes %d", wire.MaxConfigBytes, config.MaxLayerBytes)
	}
}
