package clinic

import (
	"context"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/store"
	"motcua-agent/drivers/bhyt"
	"motcua-agent/internal/testkit"
)

// TestLookupsThroughScanner scans ID-card QRs at two stations through the pty scanner
// and looks them up at the simulator over HTTP: a valid card, no card, an expired card,
// a wrong name, a wrong birth date and a replaced card. Each is shown with its words
// and card, and counted once by station and reason.
func TestLookupsThroughScanner(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	valid, expired, renewed := r.card("000"), r.card("010"), r.card("003")
	stranger := valid
	stranger.ID, stranger.Number = "099099990001", ""
	wrongName := r.card("000")
	wrongName.Name = "Phan Thị Xuân"
	wrongBirth := r.card("000")
	wrongBirth.Birth = "16/03/1985"
	cases := []struct {
		station  string
		person   bhyt.SimCard
		outcome  string
		reason   string
		headline string
		card     string
	}{
		{"tiep-don-1", valid, OutcomeOK, "valid", "Thẻ BHYT còn giá trị sử dụng", valid.Number},
		{"tiep-don-1", stranger, OutcomeFailed, "no-card", "Không tìm thấy thẻ BHYT", ""},
		{"tiep-don-2", expired, OutcomeFailed, "expired", "Thẻ BHYT đã hết hạn sử dụng", expired.Number},
		{"tiep-don-2", wrongName, OutcomeFailed, "wrong-name", "Họ tên không khớp với dữ liệu BHXH", ""},
		{"tiep-don-1", wrongBirth, OutcomeFailed, "wrong-birth", "Ngày sinh không khớp với dữ liệu BHXH", ""},
		{"tiep-don-2", renewed, OutcomeOK, "new-card", "Đã được cấp thẻ BHYT mới", renewed.NewNumber},
	}
	for _, c := range cases {
		r.scan(c.station, qr(c.person))
		first := r.next(StateChecking)
		if first.s("station") != c.station || first.s("source") != SourceQR || first.pers["name"] != c.person.Name {
			t.Fatalf("%s: first state %v %v", c.reason, first.pub, first.pers)
		}
		got := r.next(StateDone)
		if got.s("outcome") != c.outcome || got.s("reason") != c.reason || got.s("headline") != c.headline {
			t.Fatalf("%s: got %v", c.reason, got.pub)
		}
		if got.s("lookup") != first.s("lookup") {
			t.Fatalf("%s: the answer belongs to another look-up", c.reason)
		}
		num, _ := got.card()["number"].(string)
		if num != c.card {
			t.Fatalf("%s: card %v, want %q", c.reason, got.card(), c.card)
		}
		if c.reason == "valid" && (got.card()["valid_to"] != valid.ValidTo || got.pers["age"] != "41 tuổi") {
			t.Fatalf("valid card: %v, age %v", got.card(), got.pers["age"])
		}
		if c.reason == "new-card" && got.card()["old_number"] != renewed.Number {
			t.Fatalf("new card: %v", got.card())
		}
	}
	if n := r.counter(MetricLookups, nil); n != int64(len(cases)) {
		t.Fatalf("look-ups %d, want %d", n, len(cases))
	}
	if r.counter(MetricLookups, map[string]string{"station": "tiep-don-1"}) != 3 ||
		r.counter(MetricSuccesses, map[string]string{"station": "tiep-don-2"}) != 1 ||
		r.counter(MetricSuccesses, nil) != 2 {
		t.Fatal("counts by station are wrong")
	}
	for _, reason := range []string{"no-card", "expired", "wrong-name", "wrong-birth"} {
		if n := r.counter(MetricFailures, map[string]string{"reason": reason}); n != 1 {
			t.Fatalf("failures %s: %d, want 1", reason, n)
		}
	}
	if st := r.sim.Stats(); st.Checks != len(cases) {
		t.Fatalf("the gateway saw %d checks, want %d", st.Checks, len(cases))
	}
	r.checkRecord([]bhyt.SimCard{valid, stranger, expired, wrongName, wrongBirth, renewed})
}

// TestTokenExpiryMidShift: the token runs out between patients, and later the gateway
// drops one early; every look-up still succeeds, once.
func TestTokenExpiryMidShift(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	people := []bhyt.SimCard{r.card("000"), r.card("004"), r.card("000")}
	for i, p := range people {
		switch i {
		case 1:
			r.clock.Add(11 * time.Minute) // past the 10-minute token
		case 2:
			r.sim.ExpireTokens() // the gateway's own doing: learnt from its 401
		}
		r.scan("tiep-don-1", qr(p))
		if got := r.next(StateDone); got.s("outcome") != OutcomeOK {
			t.Fatalf("look-up %d: %v", i, got.pub)
		}
		if i == 2 {
			r.clock.Add(time.Minute)
			r.scan("tiep-don-1", qr(r.card("010")))
			r.next(StateDone)
		}
	}
	st := r.sim.Stats()
	if st.Tokens != 3 || st.Refused != 1 || st.Checks != 4 {
		t.Fatalf("gateway stats %+v: want 3 tokens, 1 refused check, 4 checks", st)
	}
	if r.counter(MetricLookups, nil) != 4 || r.counter(MetricSuccesses, nil) != 3 {
		t.Fatalf("counted %d look-ups, %d successes", r.counter(MetricLookups, nil), r.counter(MetricSuccesses, nil))
	}
	r.checkRecord(people)
}

// TestGatewayDownThenBack: the gateway goes away for an hour; look-ups at both stations
// wait (the page says so), the gateway comes back on the same address, every waiting
// look-up completes and is counted exactly once.
func TestGatewayDownThenBack(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.scan("tiep-don-1", qr(r.card("004"))) // a token in hand before the outage
	r.next(StateDone)
	if err := r.sim.Close(); err != nil {
		t.Fatal(err)
	}
	people := []bhyt.SimCard{r.card("000"), r.card("010"), r.card("130"), r.card("003")}
	queued := map[string]string{}
	for i, p := range people {
		station := stations[i%2]
		r.scan(station, qr(p))
		q := r.next(StateQueued)
		if q.s("headline") != "Chưa kiểm tra được, sẽ kiểm tra lại khi có mạng" || q.pers["name"] != p.Name {
			t.Fatalf("queued look-up shown as %v", q.pub)
		}
		queued[q.s("lookup")] = p.Code
	}
	if d, _ := r.hl.Get("bhyt-gateway"); d.State != health.Degraded {
		t.Fatalf("gateway health %+v", d)
	}
	st, err := r.flow.Station("tiep-don-2", false)
	if err != nil || st.Queued != 2 || st.Reachable || st.Latest == nil || st.Latest.Patient != nil {
		t.Fatalf("station while down: %+v %v", st, err)
	}
	r.waitQueue(len(people))
	for range 3 { // several retry rounds fail meanwhile
		r.advance(r.cfg.Clinic.RetryMax)
	}
	if _, err := r.sim.Start(r.simAddr); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour) // the outage lasted an hour: the token has expired too
	for range people {
		got := r.next(StateDone)
		code, ok := queued[got.s("lookup")]
		if !ok {
			t.Fatalf("an answer for a look-up that was not waiting: %v", got.pub)
		}
		delete(queued, got.s("lookup"))
		if got.s("code") != code {
			t.Fatalf("answer %v, want code %s", got.pub, code)
		}
	}
	// Later retry rounds find nothing to do: nothing more is checked or counted.
	for range 3 {
		r.advance(r.cfg.Clinic.RetryMax)
	}
	if n := r.counter(MetricLookups, nil); n != 5 {
		t.Fatalf("look-ups counted %d, want 5 (each once)", n)
	}
	if r.counter(MetricSuccesses, nil) != 3 || r.counter(MetricFailures, map[string]string{"reason": "expired"}) != 1 ||
		r.counter(MetricFailures, map[string]string{"reason": "child-no-card"}) != 1 {
		t.Fatal("outcomes after the outage are wrong")
	}
	if s := r.sim.Stats(); s.Checks != 5 {
		t.Fatalf("the gateway answered %d checks, want 5", s.Checks)
	}
	evs, _ := r.st.Events(context.Background(), store.EventFilter{Kinds: []string{KindQueued}})
	if len(evs) != len(people) {
		t.Fatalf("%d waiting look-ups recorded, want %d", len(evs), len(people))
	}
	if d, _ := r.hl.Get("bhyt-gateway"); d.State != health.OK {
		t.Fatalf("gateway health after it came back: %+v", d)
	}
	r.checkRecord(people)
}

// TestBadAnswersRefused: a malformed and an oversized answer are refused with their
// reason, shown as such, and counted once; a 503 makes the look-up wait, not fail.
func TestBadAnswersRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	p := r.card("000")
	r.sim.SetFaults(bhyt.SimFaults{Malformed: 1})
	r.scan("tiep-don-1", qr(p))
	if got := r.next(StateDone); got.s("reason") != "malformed" || got.s("headline") != "Không đọc được câu trả lời của cổng giám định" {
		t.Fatalf("malformed: %v", got.pub)
	}
	r.sim.SetFaults(bhyt.SimFaults{Oversized: 1})
	r.scan("tiep-don-2", qr(p))
	if got := r.next(StateDone); got.s("reason") != "oversized" || got.s("tone") != "warn" {
		t.Fatalf("oversized: %v", got.pub)
	}
	r.sim.SetFaults(bhyt.SimFaults{ServerErrors: 1})
	r.clock.Add(3 * time.Minute) // not a repeat of the same person
	r.scan("tiep-don-1", qr(p))
	r.next(StateQueued)
	r.waitQueue(1)
	r.advance(r.cfg.Clinic.RetryMin)
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK || got.s("attempts") != "" && got.pub["attempts"].(float64) != 2 {
		t.Fatalf("after a 503: %v", got.pub)
	}
	if r.counter(MetricFailures, map[string]string{"reason": "malformed"}) != 1 ||
		r.counter(MetricFailures, map[string]string{"reason": "oversized"}) != 1 ||
		r.counter(MetricSuccesses, nil) != 1 || r.counter(MetricLookups, nil) != 3 {
		t.Fatal("bad answers not counted once each")
	}
	if !strings.Contains(r.logs.String(), "reason=malformed") || !strings.Contains(r.logs.String(), "reason=oversized") {
		t.Fatal("the refusals are not logged with their reason")
	}
	r.checkRecord([]bhyt.SimCard{p})
}

// TestTopicsMatchTheirPublishers: the topics and the success outcome this flow reads
// are those the check-in and chip-card flows publish.
func TestTopicsMatchTheirPublishers(t *testing.T) {
	t.Parallel()
	if TopicScan != checkin.Topic || TopicIdentity != identity.TopicIdentity || identity.OutcomeOK != "ok" {
		t.Fatal("the clinic flow listens on topics nobody publishes")
	}
}

// TestQRThenChipIsOneLookup: the nurse scans the QR and then the chip card of the same
// patient; the chip's identity shows the same look-up again, without a second one.
func TestQRThenChipIsOneLookup(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	p := r.card("000")
	r.scan("tiep-don-1", qr(p))
	first := r.next(StateDone)
	r.bus.Publish(bus.Message{Topic: TopicIdentity, Public: identity.Status{Counter: "tiep-don-1", Outcome: "ok"},
		Personal: identity.Person{ID: p.ID, Name: p.Name, Birth: p.Birth}})
	again := r.next(StateDone)
	if again.s("lookup") != first.s("lookup") || again.pub["repeat"] != true {
		t.Fatalf("chip after QR: %v", again.pub)
	}
	// After the window, or at another station, it is a new look-up, by chip.
	r.clock.Add(3 * time.Minute)
	r.bus.Publish(bus.Message{Topic: TopicIdentity, Public: identity.Status{Counter: "tiep-don-1", Outcome: "ok"},
		Personal: identity.Person{ID: p.ID, Name: p.Name, Birth: p.Birth}})
	third := r.next(StateDone)
	if third.s("lookup") == first.s("lookup") || third.s("source") != SourceChip || third.s("outcome") != OutcomeOK {
		t.Fatalf("chip later: %v", third.pub)
	}
	// A failed chip verification and a gate scan are not look-ups.
	r.bus.Publish(bus.Message{Topic: TopicIdentity, Public: identity.Status{Counter: "tiep-don-2", Outcome: "failed"},
		Personal: identity.Person{ID: p.ID, Name: p.Name, Birth: p.Birth}})
	r.bus.Publish(bus.Message{Topic: TopicScan, Public: checkin.Scan{Counter: "tiep-don-2", Purpose: "gate", Kind: "cccd-2021"},
		Personal: checkin.ScanPersonal{Payload: qr(p)}})
	select {
	case m := <-r.results.C:
		t.Fatalf("published %v", m.Public)
	case <-time.After(300 * time.Millisecond):
	}
	if r.counter(MetricLookups, nil) != 2 || r.sim.Stats().Checks != 2 {
		t.Fatalf("look-ups %d, checks %d: want 2", r.counter(MetricLookups, nil), r.sim.Stats().Checks)
	}
}

// TestRestartCountsWaitingLookupsOnce: the agent stops while look-ups wait for the
// gateway; their data was only in memory, so the next start counts each once as lost,
// and a start after that counts nothing more.
func TestRestartCountsWaitingLookupsOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.sim.SetFaults(bhyt.SimFaults{Down: true})
	r.scan("tiep-don-1", qr(r.card("000")))
	r.next(StateQueued)
	r.scan("tiep-don-2", qr(r.card("010")))
	r.next(StateQueued)
	r.stopFlow()
	r.sim.SetFaults(bhyt.SimFaults{})
	for i := 0; i < 2; i++ {
		r.startFlow()
		if n := r.counter(MetricFailures, map[string]string{"reason": ReasonLost}); n != 2 {
			t.Fatalf("start %d: lost look-ups counted %d, want 2", i+1, n)
		}
		if n := r.counter(MetricLookups, nil); n != 2 {
			t.Fatalf("start %d: look-ups counted %d, want 2", i+1, n)
		}
		r.stopFlow()
	}
	r.startFlow()
	r.checkRecord([]bhyt.SimCard{r.card("000"), r.card("010")})
}

func TestAgeText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, ict)
	for birth, want := range map[string]string{"15/03/1985": "41 tuổi", "02/12/1985": "41 tuổi", "03/12/1985": "40 tuổi",
		"05/05/2023": "3 tuổi (42 tháng)", "01/06/2026": "6 tháng tuổi", "1950": "khoảng 76 tuổi", "xx": ""} {
		if got := ageText(birth, now); got != want {
			t.Errorf("%s: %q, want %q", birth, got, want)
		}
	}
}

// TestSimulateForDemo: with simulate on, the gateway simulator starts, the config points
// at it, its accounts are written for the agent, and the demo's scans look up.
func TestSimulateForDemo(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	cfg := *r.cfg
	cfg.Clinic.AccountsFile = r.dir + "/demo/secret/bhyt-accounts.yaml"
	if _, err := Simulate(context.Background(), &cfg); err == nil {
		t.Fatal("the simulator started without simulate: true")
	}
	cfg.Simulate = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := Simulate(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clinic.Gateway != sim.URL() || cfg.Clinic.Gateway == r.cfg.Clinic.Gateway {
		t.Fatalf("gateway %s", cfg.Clinic.Gateway)
	}
	as := LoadAccounts(&cfg, r.log)
	if as == nil || len(as.Keys()) != 3 {
		t.Fatalf("accounts %v", as.Keys())
	}
	missing := cfg
	missing.Clinic.AccountsFile = r.dir + "/none.yaml"
	if LoadAccounts(&missing, r.log) != nil || !strings.Contains(r.logs.String(), "bhyt accounts-example") {
		t.Fatal("a missing accounts file is not reported")
	}
	lan, _ := as.Operator("dd-lan")
	c := &bhyt.Client{BaseURL: cfg.Clinic.Gateway, Account: lan}
	outcomes := map[string]bool{}
	for _, payload := range DemoScans() {
		fields := strings.Split(payload, "|")
		a, err := c.Check(ctx, bhyt.Query{Number: fields[0], Name: fields[2], Birth: fields[3]})
		if err != nil {
			t.Fatal(err)
		}
		outcomes[string(a.Reason)] = true
	}
	if len(outcomes) < 3 || !outcomes["valid"] {
		t.Fatalf("demo scans give %v", outcomes)
	}
}

// TestUnusableScansShownNotCounted: a VNeID code without the card's fields and a card
// QR that did not read right are explained on the page, and are not look-ups.
func TestUnusableScansShownNotCounted(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.scan("tiep-don-1", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl")
	got := r.next(StateDone)
	if got.s("reason") != ReasonVNeIDNoData || got.s("headline") != "Mã VNeID này không có thông tin để tra cứu thẻ BHYT" || got.pers != nil {
		t.Fatalf("VNeID code: %v %v", got.pub, got.pers)
	}
	p := r.card("000")
	r.scan("tiep-don-2", p.ID+"||"+p.Name+"|31021985|Nam|x|15082025") // 31 February
	if got := r.next(StateDone); got.s("reason") != ReasonUnreadableQR || got.s("station") != "tiep-don-2" {
		t.Fatalf("bad card QR: %v", got.pub)
	}
	if st, _ := r.flow.Station("tiep-don-1", true); st.Latest == nil || st.Latest.Reason != ReasonVNeIDNoData {
		t.Fatalf("station %+v", st)
	}
	if n := r.counter(MetricLookups, nil); n != 0 || r.sim.Stats().Checks != 0 {
		t.Fatalf("unusable scans counted as %d look-ups", n)
	}
}

// TestQueuedGivesUp: a look-up still waiting after retry_for is counted once as given
// up, and its patient is forgotten from the page after a while.
func TestQueuedGivesUp(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.sim.SetFaults(bhyt.SimFaults{Down: true})
	r.scan("tiep-don-1", qr(r.card("000")))
	r.next(StateQueued)
	r.waitQueue(1)
	r.advance(r.cfg.Clinic.RetryFor)
	got := r.next(StateDone)
	if got.s("reason") != ReasonGaveUp || got.s("outcome") != OutcomeFailed {
		t.Fatalf("gave up as %v", got.pub)
	}
	r.advance(r.cfg.Clinic.RetryMax) // a later round does not count it again
	if r.counter(MetricFailures, map[string]string{"reason": ReasonGaveUp}) != 1 || r.counter(MetricLookups, nil) != 1 {
		t.Fatal("a given-up look-up is not counted once")
	}
	r.advance(onScreen)
	testkit.Eventually(t, 10*time.Second, func() bool {
		st, _ := r.flow.Station("tiep-don-1", true)
		return st.Latest == nil
	}, "the patient to leave memory once the look-up left the screen")
}

// TestFacilityFallback: a station whose operator has no account of their own cannot
// look up, unless the config allows the facility account; the record names the account
// used (its key only).
func TestFacilityFallback(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.stopFlow()
	r.cfg.Clinic.Stations[1].Operator = "dd-moi" // a new nurse, not yet in the accounts file
	r.startFlow()
	p := r.card("000")
	r.scan("tiep-don-2", qr(p))
	if got := r.next(StateDone); got.s("reason") != ReasonNoAccount || got.s("headline") != "Bàn tiếp đón này chưa có tài khoản tra cứu BHYT" {
		t.Fatalf("without an account: %v", got.pub)
	}
	r.stopFlow()
	r.cfg.Clinic.FacilityFallback = true
	r.startFlow()
	r.scan("tiep-don-2", qr(p))
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK {
		t.Fatalf("with the facility account: %v", got.pub)
	}
	evs, err := r.st.Events(context.Background(), store.EventFilter{Kinds: []string{KindLookup}})
	if err != nil || len(evs) != 2 || lookupOf(t, evs[0]).Operator != "" || lookupOf(t, evs[1]).Operator != "co-so" {
		t.Fatalf("look-up events %+v %v", evs, err)
	}
	if r.counter(MetricFailures, map[string]string{"reason": ReasonNoAccount}) != 1 || r.counter(MetricSuccesses, nil) != 1 {
		t.Fatal("counts")
	}
	r.checkRecord([]bhyt.SimCard{p})
}

// lookupOf reads a look-up event's attributes.
func lookupOf(t *testing.T, e store.Event) LookupAttrs {
	t.Helper()
	var a LookupAttrs
	if err := e.Attrs.Decode(&a); err != nil || a.Lookup == "" {
		t.Fatalf("look-up event %d: attributes %s: %v", e.Seq, e.Attrs, err)
	}
	return a
}
