//go:build unix

package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

type flowRig struct {
	flow  *Flow
	st    *store.Store
	ids   *store.IDHasher
	bus   *bus.Bus
	sub   *bus.Subscription
	clock *testkit.Clock
	ctx   context.Context
}

func newFlowRig(t *testing.T) *flowRig {
	t.Helper()
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	if err := pcsctest.WaitCard(ctx, vpcd.ReaderName(vpcd.DefaultAddr), false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids, err := store.LoadIDHasher(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Card{Enabled: true, Readers: []config.CardReader{{Name: vpcd.ReaderName(vpcd.DefaultAddr), Counter: "2"}},
		PairWindow: time.Minute, ReadTimeout: 20 * time.Second}
	clk := testkit.NewClock(time.Now())
	trustDir := t.TempDir()
	if _, err := ImportTrust(trustDir, filepath.Join("..", "..", "testdata", "cards", "pki", "test", "csca.der")); err != nil {
		t.Fatal(err)
	}
	ts, err := LoadTrust(trustDir)
	if err != nil {
		t.Fatal(err)
	}
	b := bus.New(nil)
	r := &flowRig{st: st, ids: ids, bus: b, clock: clk, ctx: ctx, sub: b.Subscribe(64, TopicIdentity)}
	r.flow = New(Deps{Card: cfg, Site: "test-site", Store: st, IDs: ids, Bus: b, Health: health.New(nil), Trust: ts, Now: clk.Now,
		Metrics: metrics.New()})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.flow.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return r
}

// next waits for the identity message in the given state.
func (r *flowRig) next(t *testing.T, state string) bus.Message {
	t.Helper()
	for {
		select {
		case m := <-r.sub.C:
			if testkit.Fields(m.Public)["state"] == state {
				return m
			}
			if testkit.Fields(m.Public)["state"] == "done" {
				t.Fatalf("got a result %v while waiting for %q", m.Public, state)
			}
		case <-r.ctx.Done():
			t.Fatalf("no identity message in state %q", state)
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

func insertCitizen(t *testing.T, ctx context.Context, c *simcard.Citizen) *pcsctest.Slot {
	t.Helper()
	card, err := c.Card(simcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
}

// A scanned QR, then the card on the same counter: one verified event with hashed ID
// and counters, and a bus message with the holder only in the personal part.
func TestFlowQRThenCard(t *testing.T) {
	r := newFlowRig(t)
	c := citizen(t, "cuong-spouse-cmnd")
	r.bus.Publish(bus.Message{Topic: TopicScan, Public: checkin.Scan{Counter: "2", Kind: "cccd-2021"},
		Personal: checkin.ScanPersonal{Payload: c.QR}})
	// The scan is handled asynchronously; wait until it is paired before the card comes.
	testkit.Eventually(t, 10*time.Second, func() bool {
		r.flow.mu.Lock()
		defer r.flow.mu.Unlock()
		_, ok := r.flow.pending["2"]
		return ok
	}, "the scanned QR was not taken up")
	insertCitizen(t, r.ctx, c)
	m := r.next(t, "done")
	if testkit.Fields(m.Public)["outcome"] != OutcomeOK || testkit.Fields(m.Public)["method"] != "BAC" || testkit.Fields(m.Public)["counter"] != "2" {
		t.Fatalf("public %v", m.Public)
	}
	if _, leaked := testkit.Fields(m.Public)["name"]; leaked {
		t.Fatal("name in the public part")
	}
	if testkit.Fields(m.Personal)["name"] != c.DG13.Name || testkit.Fields(m.Personal)["spouse"] != c.DG13.Spouse {
		t.Fatalf("personal %v", m.Personal)
	}
	// Typed parts: the pseudonym in the linkable part only, the holder in a Person.
	if _, ok := m.Public.(Status); !ok {
		t.Fatalf("public part is a %T, want identity.Status", m.Public)
	}
	if p, ok := m.Personal.(Person); !ok || p.ID != c.DG13.ID {
		t.Fatalf("personal part is a %T %v, want identity.Person", m.Personal, m.Personal)
	}
	if _, leaked := testkit.Fields(m.Public)["id_hash"]; leaked {
		t.Fatal("the ID hash in the public part")
	}
	if m.Linkable == nil || m.Linkable.IDHash != r.ids.Hash(c.DG13.ID) || testkit.Fields(m.Public)["age_band"] != "40-59" {
		t.Fatalf("hash/age band %+v %v", m.Linkable, testkit.Fields(m.Public)["age_band"])
	}
	if n := r.flow.d.Metrics.Counter("motcua_identity_verifications_total", "", "outcome=ok").Value(); n != 1 {
		t.Fatalf("metric verifications ok = %d", n)
	}
	evs, err := r.st.Events(r.ctx, store.EventFilter{Kinds: []string{EventVerified}})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	ev := evs[0]
	raw, _ := json.Marshal(ev)
	for _, secret := range []string{c.DG13.ID, c.DG13.Name, c.DG13.Residence} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("event keeps personal data %q: %s", secret, raw)
		}
	}
	var a VerifiedAttrs
	if err := ev.Attrs.Decode(&a); err != nil || ev.Counter != "2" || a.IDHash != r.ids.Hash(c.DG13.ID) || a.Outcome != OutcomeOK || a.Kept != nil {
		t.Fatalf("event %s", raw)
	}
	rows, err := r.st.Counters(r.ctx, r.st.Day(r.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, row := range rows {
		got[row.Metric+" "+store.EncodeDims(row.Dims)] = row.Value
	}
	if got["identity.verifications "+store.EncodeDims(map[string]string{"outcome": "ok", "method": "BAC"})] != 1 ||
		got["checkins "+store.EncodeDims(map[string]string{"kind": "chip"})] != 1 {
		t.Fatalf("counters %v", got)
	}
}

// The card first, then typed keys through the HTTP API: the waiting card is read.
func TestFlowCardThenTypedKeys(t *testing.T) {
	r := newFlowRig(t)
	c := citizen(t, "em-two-year-rule")
	insertCitizen(t, r.ctx, c)
	r.next(t, "waiting-for-keys")
	srv := httptest.NewServer(http.HandlerFunc(r.flow.handleKeys))
	defer srv.Close()
	body, _ := json.Marshal(KeysRequest{Counter: "2", ID: c.DG13.ID, Birth: "1998-06-20"})
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	m := r.next(t, "done")
	if testkit.Fields(m.Public)["outcome"] != OutcomeOK || testkit.Fields(m.Public)["method"] != "PACE-CAN" || testkit.Fields(m.Public)["key_source"] != "typed" {
		t.Fatalf("public %v", m.Public)
	}
	resp, err = http.Post(srv.URL, "application/json", bytes.NewReader([]byte(`{"counter":"2","id":"12345"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]string
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e["message"] == "" {
		t.Fatalf("bad keys: %d %v", resp.StatusCode, e)
	}
}

// Keys older than the pairing window are not used for a card placed later.
func TestFlowPairWindowExpires(t *testing.T) {
	r := newFlowRig(t)
	c := citizen(t, "an-cccd2021")
	if err := r.flow.OfferQR("2", c.QR); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(61 * time.Second)
	insertCitizen(t, r.ctx, c)
	r.next(t, "waiting-for-keys")
	evs, _ := r.st.Events(r.ctx, store.EventFilter{})
	if len(evs) != 0 {
		t.Fatalf("a card was read with stale keys: %v", evs)
	}
	// Fresh keys read it.
	if err := r.flow.OfferQR("2", c.QR); err != nil {
		t.Fatal(err)
	}
	if m := r.next(t, "done"); testkit.Fields(m.Public)["outcome"] != OutcomeOK {
		t.Fatalf("public %v", m.Public)
	}
}

// Every testdata citizen through the flow: a QR scan on the bus, then the card.
func TestFlowEveryProfile(t *testing.T) {
	r := newFlowRig(t)
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "cards", "*.json"))
	for _, p := range paths {
		c, err := simcard.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			if err := r.flow.OfferQR("2", c.QR); err != nil {
				t.Fatal(err)
			}
			slot := insertCitizen(t, r.ctx, c)
			m := r.next(t, "done")
			want := OutcomeOK
			if c.PKI == "unknown" {
				want = OutcomeFailed
			}
			if testkit.Fields(m.Public)["outcome"] != want || testkit.Fields(m.Personal)["id"] != c.DG13.ID {
				t.Fatalf("public %v", m.Public)
			}
			if err := slot.WaitGone(r.ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
