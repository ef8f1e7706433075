package queue

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/internal/testkit"
)

// oldRecord is a record the agent wrote before the queue's attributes were typed
// structs (every flow put its own keys in a map): the day of playDay, made by
// MOTCUA_WRITE_OLD_RECORD=FILE go test -run TestOlderAgentsDayRebuildsTheSame on
// that agent's tree.
const oldRecord = "testdata/day-before-typed-attrs.db"

var playedDay = time.Date(2026, 3, 2, 7, 30, 0, 0, ict)

// playDay is one morning of a small office touching every kind of queue event: PIN
// sign-ins and a replacement, a priority ticket, calls by next and by number, recalls,
// a pause, a transfer to one counter and one to another service, a no-show closed by
// "next", a cancellation, ratings with and without reasons, a sign-out, a printer
// fault and an alert.
func playDay(t *testing.T, q *Queue, clk *testkit.Clock) {
	t.Helper()
	ctx := context.Background()
	step := func() { clk.Add(90 * time.Second) }
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tk := must(t)
	_, err := q.SignInPIN(ctx, "1", "lan", "2468")
	ok(err)
	_, err = q.SignInPIN(ctx, "2", "minh", "1357")
	ok(err)
	a1 := tk(q.Issue(ctx, "A", false))
	step()
	a2 := tk(q.Issue(ctx, "A", true))
	b1 := tk(q.Issue(ctx, "B", false))
	c1 := tk(q.Issue(ctx, "C", false))
	step()
	a3 := tk(q.Issue(ctx, "A", false))
	tk(q.Next(ctx, "1", CloseAuto)) // the priority ticket
	step()
	tk(q.Start(ctx, a2.Number))
	step()
	tk(q.Finish(ctx, a2.Number))
	_, err = q.Rate(ctx, RatingRequest{Number: a2.Number, Level: 5, Channel: ChannelTablet})
	ok(err)
	tk(q.Call(ctx, "2", b1.Number, CloseAuto))
	step()
	tk(q.Recall(ctx, b1.Number))
	tk(q.Recall(ctx, b1.Number))
	step()
	tk(q.Next(ctx, "2", CloseAuto)) // b1 absent after two recalls, a1 called
	tk(q.Transfer(ctx, a1.Number, "", "1"))
	ok(q.Pause(ctx, "2", CloseAuto))
	step()
	tk(q.Next(ctx, "1", CloseAuto)) // a1, transferred to counter 1
	step()
	tk(q.Finish(ctx, a1.Number))
	_, err = q.RateLast(ctx, "1", 4, ChannelKeypad)
	ok(err)
	tk(q.Next(ctx, "3", CloseAuto)) // c1
	tk(q.Transfer(ctx, c1.Number, "B", ""))
	tk(q.Cancel(ctx, a3.Number))
	ok(q.Resume(ctx, "2"))
	_, err = q.SignInPIN(ctx, "1", "minh", "1357") // minh moves to counter 1
	ok(err)
	tk(q.Next(ctx, "2", CloseAuto)) // c1, now a B ticket
	step()
	ok(q.Pause(ctx, "2", CloseFinish)) // finishes c1
	a4 := tk(q.Issue(ctx, "A", false))
	tk(q.Next(ctx, "1", CloseAuto))
	step()
	tk(q.Finish(ctx, a4.Number))
	_, err = q.Rate(ctx, RatingRequest{Number: a4.Number, Level: 2, Channel: ChannelQR,
		Reasons: []string{config.DefaultRatingReasons[0]}})
	ok(err)
	ok(q.SignOut(ctx, "1"))
	a5 := tk(q.Issue(ctx, "A", false))
	tk(q.Transfer(ctx, a5.Number, "", "3")) // waits for counter 3 at the day's end
	api := &API{Q: q, Print: func(context.Context, Slip) error { return errors.New("paper out") }}
	api.print(ctx, Slip{Number: a4.Number, ServiceCode: "A"})
	ok(q.Alert(ctx, "Máy in phiếu hết giấy"))
}

// openPlayed opens a queue on a record at path with the clock at the day's start.
func openPlayed(t *testing.T, path string) (*Queue, *testkit.Clock, *store.Store) {
	t.Helper()
	clk := testkit.NewClock(playedDay)
	st := openStore(t, path, clk.Now)
	q := openQueue(t, st, clk.Now)
	withStaffAndRatings(q)
	return q, clk, st
}

// copyOfOldRecord is a fresh copy of oldRecord to open (opening may write to it).
func copyOfOldRecord(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.db")
	b, err := os.ReadFile(oldRecord)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A record an older agent kept (its attributes in the map shape of the time) rebuilds
// the same day as the same day played now: the tickets with their states, times,
// counters, transfers, officers and ratings, the counters' officers and pauses, the
// alerts and the officers' report.
func TestOlderAgentsDayRebuildsTheSame(t *testing.T) {
	if out := os.Getenv("MOTCUA_WRITE_OLD_RECORD"); out != "" {
		q, clk, st := openPlayed(t, out)
		playDay(t, q, clk)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Parallel()
	ctx := context.Background()
	oldQ, _, oldSt := openPlayed(t, copyOfOldRecord(t))
	defer oldSt.Close()

	newQ, clk, newSt := openPlayed(t, filepath.Join(t.TempDir(), "agent.db"))
	defer newSt.Close()
	playDay(t, newQ, clk)

	day := newSt.Day(playedDay)
	oldBook, err := oldQ.replay(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	newBook, err := newQ.replay(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(newBook.tickets) != 7 || len(oldBook.tickets) != 7 {
		t.Fatalf("tickets: old record %d, new %d, want 7", len(oldBook.tickets), len(newBook.tickets))
	}
	for n, want := range newBook.tickets {
		got := oldBook.tickets[n]
		if got == nil || !reflect.DeepEqual(*got, *want) {
			t.Errorf("ticket %d from the older record:\n%+v\nplayed now:\n%+v", n, got, want)
		}
	}
	for name, pair := range map[string][2]any{
		"issue order": {oldBook.order, newBook.order}, "last numbers": {oldBook.last, newBook.last},
		"officers": {oldBook.officer, newBook.officer}, "pauses": {oldBook.paused, newBook.paused},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: older record %v, played now %v", name, pair[0], pair[1])
		}
	}
	// The rebuilt day holds what was played, so equal books are not two empty ones.
	if a2 := newBook.tickets[1002]; !a2.Priority || a2.finishedBy != "lan" || a2.rating != 5 {
		t.Errorf("the priority ticket: %+v", *a2)
	}
	if c1 := newBook.tickets[3001]; c1.Service != "B" || c1.ServedBy != "2" || c1.State != Done {
		t.Errorf("the ticket moved to service B: %+v", *c1)
	}
	if b1 := newBook.tickets[2001]; b1.State != NoShow || b1.Recalls != 2 {
		t.Errorf("the absent ticket: %+v", *b1)
	}
	if a1 := newBook.tickets[1001]; a1.ServedBy != "1" || a1.rating != 4 || a1.finishedBy != "lan" {
		t.Errorf("the ticket transferred to counter 1: %+v", *a1)
	}
	if a4 := newBook.tickets[1004]; a4.finishedBy != "minh" || a4.rating != 2 {
		t.Errorf("the last ticket: %+v", *a4)
	}
	if a5 := newBook.tickets[1005]; a5.TargetCounter != "3" || a5.State != Waiting {
		t.Errorf("the ticket left waiting for counter 3: %+v", *a5)
	}
	if len(newBook.officer) != 0 || !newBook.paused["2"] {
		t.Errorf("counters at the end of the morning: officers %v, paused %v", newBook.officer, newBook.paused)
	}

	oldAlerts, err := oldQ.alerts(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	newAlerts, err := newQ.alerts(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(oldAlerts, newAlerts) || len(newAlerts) != 2 || !strings.Contains(newAlerts[0], "phiếu số 1004") {
		t.Errorf("alerts: older record %q, played now %q", oldAlerts, newAlerts)
	}
	oldRep, err := oldQ.OfficersReport(ctx, day, 1)
	if err != nil {
		t.Fatal(err)
	}
	newRep, err := newQ.OfficersReport(ctx, day, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(oldRep, newRep) {
		t.Errorf("officers' report: older record\n%+v\nplayed now\n%+v", oldRep, newRep)
	}

	// The two records hold the same facts in different shapes: the older one's
	// sign-ins say who they replaced even when nobody was.
	oldEvs, _ := oldSt.Events(ctx, store.EventFilter{Kinds: []string{KindSignedIn}})
	newEvs, _ := newSt.Events(ctx, store.EventFilter{Kinds: []string{KindSignedIn}})
	if len(oldEvs) != 3 || len(newEvs) != 3 {
		t.Fatalf("sign-ins: older record %d, new %d, want 3", len(oldEvs), len(newEvs))
	}
	oldJSON, _ := json.Marshal(oldEvs[0].Attrs)
	newJSON, _ := json.Marshal(newEvs[0].Attrs)
	if !strings.Contains(string(oldJSON), `"replaced":""`) || strings.Contains(string(newJSON), "replaced") {
		t.Errorf("first sign-in: older record %s, new %s: want the older shape in the older record", oldJSON, newJSON)
	}
}

// BenchmarkReplayOlderDay rebuilds the older agent's day from its record (open the
// events, read each kind's struct, apply) against, in the same run, reading the same
// rows' attributes into maps as the store did for every event before they were typed:
// ratio = typed rebuild / map decode of the same rows.
func BenchmarkReplayOlderDay(b *testing.B) {
	ctx := context.Background()
	clk := testkit.NewClock(playedDay)
	st := openStore(b, copyOfOldRecord(b), clk.Now)
	defer st.Close()
	q := openQueue(b, st, clk.Now)
	day := st.Day(playedDay)
	evs, err := st.Events(ctx, store.EventFilter{})
	if err != nil {
		b.Fatal(err)
	}
	var typed, maps time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := q.replay(ctx, day); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := st.Events(ctx, store.EventFilter{Kinds: allKinds}); err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			var m map[string]any
			_ = json.Unmarshal([]byte(e.Attrs.String()), &m)
		}
		typed, maps = typed+t1.Sub(t0), maps+time.Since(t1)
	}
	b.ReportMetric(float64(typed)/float64(maps), "typed/map-decode")
}
