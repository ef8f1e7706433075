package clinic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"motcua-agent/agent/store"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/bhyt"
)

// heldPeople lists the ID numbers the flow holds in memory, wherever a look-up sits.
func (r *rig) heldPeople() map[string]bool {
	f := r.flow
	f.mu.Lock()
	defer f.mu.Unlock()
	held := map[string]bool{}
	note := func(l *lookup) {
		if l.req.Number != "" || l.req.Name != "" || l.answer != nil || l.person != "" {
			held[l.req.Number] = true
		}
	}
	for _, l := range f.latest {
		note(l)
	}
	for _, l := range f.recent {
		note(l)
	}
	for _, l := range f.queue {
		note(l)
	}
	for l := range f.pending {
		note(l)
	}
	return held
}

// apiCall sends a JSON body to the agent's API with a role's token and decodes the
// JSON answer.
func apiCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// postLookup types a look-up through the agent's HTTP API, as the reception page does.
func postLookup(t *testing.T, base, station string, p bhyt.SimCard) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"station": station, "number": p.ID, "name": p.Name, "birth": p.Birth})
	return apiCall(t, "POST", base+"/api/v1/clinic/lookups", counterToken, string(body))
}

func getStation(t *testing.T, base, station string) StationStatus {
	t.Helper()
	code, m := apiCall(t, "GET", base+"/api/v1/clinic/stations/"+station, counterToken, "")
	var s StationStatus
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &s); code != http.StatusOK || err != nil {
		t.Fatalf("station %s: %d %v", station, code, err)
	}
	return s
}

// TestPendingLookupsBounded (issue 25): with the gateway simulator down, look-ups typed
// through the agent's HTTP API wait up to max_pending; past it each is counted as
// failed at once, its patient dropped, and the station says so in Vietnamese; past
// retry_for the waiting ones are given up and nobody's data is left in memory. When
// the gateway is back a look-up goes through again.
func TestPendingLookupsBounded(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.stopFlow()
	r.cfg.Clinic.MaxPending = 3
	r.startFlow()
	base := "http://" + r.serve(t).Addr()
	if err := r.sim.Close(); err != nil {
		t.Fatal(err)
	}
	var people []bhyt.SimCard
	for i := range 5 {
		p := r.card("000")
		p.ID = fmt.Sprintf("0990999900%02d", i)
		people = append(people, p)
	}
	for i, p := range people[:3] {
		if code, v := postLookup(t, base, stations[i%2], p); code != http.StatusAccepted || v["state"] != StateChecking {
			t.Fatalf("look-up %d: %d %v", i, code, v)
		}
		r.next(StateQueued)
	}
	r.waitQueue(3)
	for i, p := range people[3:] {
		code, v := postLookup(t, base, "tiep-don-1", p)
		if code != http.StatusAccepted || v["state"] != StateDone || v["reason"] != ReasonFull || v["patient"] != nil ||
			!strings.Contains(v["headline"].(string), "số lượt chờ cổng giám định đã đầy") {
			t.Fatalf("look-up past the bound %d: %d %v", i, code, v)
		}
		if got := r.next(StateDone); got.s("reason") != ReasonFull || got.pers != nil {
			t.Fatalf("published %v %v", got.pub, got.pers)
		}
	}
	st := getStation(t, base, "tiep-don-1")
	if !st.Full || st.Queued != 2 || st.Latest == nil || st.Latest.Reason != ReasonFull || st.Latest.Patient != nil ||
		st.Latest.Advice == "" || st.Latest.Tone != "bad" {
		t.Fatalf("station at the bound: %+v %+v", st, st.Latest)
	}
	held := r.heldPeople()
	if len(held) != 3 || held[people[3].ID] || held[people[4].ID] {
		t.Fatalf("in memory at the bound: %v, want the 3 waiting only", held)
	}
	if n := r.counter(MetricFailures, map[string]string{"reason": ReasonFull}); n != 2 {
		t.Fatalf("queue-full counted %d, want 2", n)
	}
	// The age bound: every waiting look-up is given up, counted once, and forgotten.
	r.advance(r.cfg.Clinic.RetryFor)
	for range 3 {
		if got := r.next(StateDone); got.s("reason") != ReasonGaveUp || got.pers != nil {
			t.Fatalf("after retry_for: %v %v", got.pub, got.pers)
		}
	}
	if held := r.heldPeople(); len(held) != 0 {
		t.Fatalf("personal data left in memory after every look-up ended: %d people", len(held))
	}
	if st := getStation(t, base, "tiep-don-1"); st.Full || st.Queued != 0 {
		t.Fatalf("station after the bound: %+v", st)
	}
	if r.counter(MetricLookups, nil) != 5 || r.counter(MetricFailures, map[string]string{"reason": ReasonGaveUp}) != 3 ||
		r.counter(MetricSuccesses, nil) != 0 {
		t.Fatal("the bounded look-ups are not counted once each")
	}
	// The gateway is back: a look-up goes through.
	if _, err := r.sim.Start(r.simAddr); err != nil {
		t.Fatal(err)
	}
	back := r.card("000")
	if code, _ := postLookup(t, base, "tiep-don-2", back); code != http.StatusAccepted {
		t.Fatalf("after the outage: %d", code)
	}
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK {
		t.Fatalf("after the outage: %v", got.pub)
	}
	r.checkRecord(append(people, back))
}

// TestGatewayServerErrorRetried: maKetQua 500 is the gateway's fault: the look-up waits
// and is asked again, and counts once, as the success it then is.
func TestGatewayServerErrorRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	p := r.card("000")
	r.sim.SetFaults(bhyt.SimFaults{GatewayErrors: 1})
	r.scan("tiep-don-1", qr(p))
	r.next(StateQueued)
	r.waitQueue(1)
	r.advance(r.cfg.Clinic.RetryMin)
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK || got.pub["attempts"].(float64) != 2 {
		t.Fatalf("after a 500: %v", got.pub)
	}
	if r.counter(MetricLookups, nil) != 1 || r.counter(MetricSuccesses, nil) != 1 {
		t.Fatal("a 500 then a success is not one successful look-up")
	}
	r.checkRecord([]bhyt.SimCard{p})
}

// TestOtherAgencyRule: 001/002 count as failures by default and as successes where the
// province's rule says so; either way they are counted apart, and each event names the
// rule it was counted by.
func TestOtherAgencyRule(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	defence, police := r.card("001"), r.card("002")
	r.scan("tiep-don-1", qr(defence))
	if got := r.next(StateDone); got.s("outcome") != OutcomeFailed || got.s("reason") != "other-agency" {
		t.Fatalf("001 by default: %v", got.pub)
	}
	r.stopFlow()
	r.cfg.Clinic.OtherAgencySuccess = true
	r.startFlow()
	r.scan("tiep-don-1", qr(police))
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK || got.s("tone") != "warn" {
		t.Fatalf("002 with the province's rule: %v", got.pub)
	}
	if r.counter(MetricSuccesses, nil) != 1 || r.counter(MetricFailures, map[string]string{"reason": "other-agency"}) != 1 ||
		r.counter(MetricOtherAgency, nil) != 2 || r.counter(MetricLookups, nil) != 2 {
		t.Fatal("other-agency counts")
	}
	// The one counted as a success is counted apart too: the hub states the rule by it.
	if n := r.counter(vocab.BHYTLookupsOtherAgencyOK, nil); n != 1 {
		t.Fatalf("other-agency answers counted as successes: %d, want 1", n)
	}
	evs, err := r.st.Events(context.Background(), store.EventFilter{Kinds: []string{KindLookup}})
	if err != nil || len(evs) != 2 || lookupOf(t, evs[0]).SuccessRule != RuleStrict || lookupOf(t, evs[1]).SuccessRule != RuleOtherAgency {
		t.Fatalf("events %+v %v", evs, err)
	}
	r.checkRecord([]bhyt.SimCard{defence, police})
}

// TestFacilityAccountNamesTheNurse: a nurse with no account of her own looks up with the
// facility's account, named by her own name and ID number, and the gateway accepts it.
func TestFacilityAccountNamesTheNurse(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.stopFlow()
	r.cfg.Clinic.Stations[0].Operator = "dd-thu"
	r.startFlow()
	p := r.card("000")
	r.scan("tiep-don-1", qr(p))
	if got := r.next(StateDone); got.s("outcome") != OutcomeOK {
		t.Fatalf("via the facility account: %v", got.pub)
	}
	evs, _ := r.st.Events(context.Background(), store.EventFilter{Kinds: []string{KindLookup}})
	if len(evs) != 1 || lookupOf(t, evs[0]).Operator != "dd-thu" {
		t.Fatalf("events %+v", evs)
	}
	r.checkRecord([]bhyt.SimCard{p})
}
