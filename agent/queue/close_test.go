package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
)

// "Gọi số tiếp theo" ends the visit the counter still has open: finished when it was
// being served, absent after the configured recalls, and otherwise a refusal that names
// the choices and changes nothing.
func TestNextClosesTheOpenTicket(t *testing.T) {
	t.Parallel()
	type setup struct {
		start   bool // the official pressed "start"
		recalls int
	}
	for _, tc := range []struct {
		name    string
		open    setup
		how     Close
		status  int   // 0: success
		want    State // the open ticket's state afterwards
		choices bool  // the refusal lists choices
	}{
		{"served then next", setup{start: true}, CloseAuto, 0, Done, false},
		{"called, never recalled: ambiguous", setup{}, CloseAuto, 409, Called, true},
		{"called once recalled: ambiguous", setup{recalls: 1}, CloseAuto, 409, Called, true},
		{"called, recalled enough: absent", setup{recalls: 2}, CloseAuto, 0, NoShow, false},
		{"called, said finished", setup{}, CloseFinish, 0, Done, false},
		{"served, said finished", setup{start: true}, CloseFinish, 0, Done, false},
		{"called, said absent too early", setup{recalls: 1}, CloseNoShow, 409, Called, false},
		{"called, said absent after recalls", setup{recalls: 2}, CloseNoShow, 0, NoShow, false},
		{"served, said absent", setup{start: true}, CloseNoShow, 409, Serving, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			q, c, st := newTestQueue(t)
			first := must(t)(q.Issue(ctx, "A", false))
			second := must(t)(q.Issue(ctx, "A", false))
			c.Add(time.Minute)
			must(t)(q.Next(ctx, "1", CloseAuto))
			for i := 0; i < tc.open.recalls; i++ {
				must(t)(q.Recall(ctx, first.Number))
			}
			if tc.open.start {
				must(t)(q.Start(ctx, first.Number))
			}
			c.Add(3 * time.Minute)
			got, err := q.Next(ctx, "1", tc.how)
			if status(err) != tc.status && !(tc.status == 0 && err == nil) {
				t.Fatalf("next: %v, want status %d", err, tc.status)
			}
			var e *Error
			if tc.choices != (errors.As(err, &e) && len(e.Choices) > 0 && e.Open == first.Number) {
				t.Fatalf("choices: %+v, want them %v", e, tc.choices)
			}
			one, _, _ := q.Ticket(first.Number)
			two, _, _ := q.Ticket(second.Number)
			if one.State != tc.want {
				t.Fatalf("open ticket is %s, want %s", one.State, tc.want)
			}
			if err == nil && (got.Number != second.Number || two.State != Called) {
				t.Fatalf("next called %+v; second is %s", got, two.State)
			}
			if err != nil && two.State != Waiting {
				t.Fatalf("refused next still changed the second ticket: %s", two.State)
			}
			checkInvariants(t, q, st)
		})
	}
}

// Nothing waiting: the open ticket is closed all the same, and the refusal says so.
func TestNextWithNobodyWaitingStillCloses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, st := newTestQueue(t)
	tk := must(t)(q.Issue(ctx, "B", false))
	must(t)(q.Next(ctx, "3", CloseAuto))
	must(t)(q.Start(ctx, tk.Number))
	_, err := q.Next(ctx, "3", CloseAuto)
	var e *Error
	if status(err) != 404 || !errors.As(err, &e) || e.Vi != fmt.Sprintf("Đã kết thúc số %d. Không còn ai đang chờ.", tk.Number) {
		t.Fatalf("next with nobody waiting: %v", err)
	}
	if got, _, _ := q.Ticket(tk.Number); got.State != Done {
		t.Fatalf("state %s", got.State)
	}
	checkInvariants(t, q, st)
}

// Calling a number by hand, and pausing, close the open ticket by the same rule; a
// paused counter is skipped by nobody (tickets wait) and resumes on its next "next".
func TestCallAndPauseClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, st := newTestQueue(t)
	a := must(t)(q.Issue(ctx, "A", false))
	b := must(t)(q.Issue(ctx, "A", false))
	d := must(t)(q.Issue(ctx, "A", false))
	must(t)(q.Next(ctx, "2", CloseAuto))
	if _, err := q.Call(ctx, "2", d.Number, CloseAuto); status(err) != 409 {
		t.Fatalf("call over an ambiguous open ticket: %v", err)
	}
	must(t)(q.Call(ctx, "2", d.Number, CloseFinish))
	if got, _, _ := q.Ticket(a.Number); got.State != Done {
		t.Fatalf("call by hand left %d %s", a.Number, got.State)
	}
	must(t)(q.Start(ctx, d.Number))
	if err := q.Pause(ctx, "2", CloseAuto); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := q.Ticket(d.Number); got.State != Done {
		t.Fatalf("pause left %d %s", d.Number, got.State)
	}
	if s := q.Snapshot(); !s.Paused["2"] {
		t.Fatalf("snapshot does not show counter 2 paused: %+v", s.Paused)
	}
	if n := must(t)(q.Next(ctx, "2", CloseAuto)); n.Number != b.Number {
		t.Fatalf("after the pause next called %d", n.Number)
	}
	if s := q.Snapshot(); s.Paused["2"] {
		t.Fatal("next did not end the pause")
	}
	// The pause survives a restart.
	if err := q.Pause(ctx, "1", CloseAuto); err != nil {
		t.Fatal(err)
	}
	if q2 := openQueue(t, st, q.now); !q2.Snapshot().Paused["1"] {
		t.Fatal("pause lost on replay")
	}
	checkInvariants(t, q, st)
}

// checkInvariants: no counter has more than one open ticket, and the day's statistics
// equal what the durable events and counters say.
func checkInvariants(t *testing.T, q *Queue, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	s := q.Snapshot()
	q.mu.Lock()
	for id := range q.counters {
		if n := len(q.book.open(id)); n > 1 {
			q.mu.Unlock()
			t.Fatalf("counter %s has %d open tickets", id, n)
		}
	}
	q.mu.Unlock()
	stats, err := q.Stats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, store.EventFilter{Kinds: allKinds})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	rows, err := st.Counters(ctx, s.Day)
	if err != nil {
		t.Fatal(err)
	}
	metric := map[string]int64{}
	for _, r := range rows {
		metric[r.Metric] += r.Value
	}
	if stats.Total.Issued != kinds[KindIssued] || int64(stats.Total.Issued) != metric[MetricIssued] {
		t.Fatalf("issued: stats %d, events %d, counter %d", stats.Total.Issued, kinds[KindIssued], metric[MetricIssued])
	}
	if stats.Total.Served != kinds[KindFinished] || int64(stats.Total.Served) != metric[MetricServed] {
		t.Fatalf("served: stats %d, events %d, counter %d", stats.Total.Served, kinds[KindFinished], metric[MetricServed])
	}
	if int64(stats.Total.NoShows) != metric[MetricNoShow] {
		t.Fatalf("no-shows: stats %d, counter %d", stats.Total.NoShows, metric[MetricNoShow])
	}
}

// What the kiosk says ("N people ahead") is what happens: at a counter serving one
// service, each ticket is called after exactly as many others as it was told.
func TestAheadIsTheCallOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, c, _ := newTestQueue(t)
	told := map[int]int{}
	for i, prio := range []bool{false, false, true, false, true, false} {
		c.Add(time.Duration(i+1) * time.Second)
		tk := must(t)(q.Issue(ctx, "A", prio))
		_, ahead, err := q.Ticket(tk.Number)
		if err != nil {
			t.Fatal(err)
		}
		if prio && ahead != 0 && ahead != 1 {
			t.Fatalf("priority ticket %d told %d ahead", tk.Number, ahead)
		}
		told[tk.Number] = ahead
	}
	// Ahead is counted again now that everyone is in: it is each one's place in the call order.
	for n := range told {
		_, told[n], _ = q.Ticket(n)
	}
	for pos := 0; ; pos++ {
		tk, err := q.Next(ctx, "1", CloseFinish)
		if status(err) == 404 {
			if pos != len(told) {
				t.Fatalf("called %d of %d", pos, len(told))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if told[tk.Number] != pos {
			t.Fatalf("ticket %d was told %d ahead, called %d-th", tk.Number, told[tk.Number], pos)
		}
	}
}

// Over HTTP, an ambiguous "next" names the open ticket and the choices; saying
// "finish" ends it and calls the next one; pause and resume answer; a bad choice is 400.
func TestNextChoicesOverHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for i := 0; i < 2; i++ {
		s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, nil)
	}
	var tk Ticket
	if c := s.do(t, "POST", "/api/v1/counters/1/next", web.RoleCounter, nil, &tk); c != 200 || tk.Number != 1001 {
		t.Fatalf("first next: %d %+v", c, tk)
	}
	var refusal struct {
		Message string
		Open    int
		Choices []string
	}
	if c := s.do(t, "POST", "/api/v1/counters/1/next", web.RoleCounter, nil, &refusal); c != 409 ||
		refusal.Open != 1001 || strings.Join(refusal.Choices, ",") != "finish,recall" || !strings.Contains(refusal.Message, "Số 1001") {
		t.Fatalf("ambiguous next: %d %+v", c, refusal)
	}
	if c := s.do(t, "POST", "/api/v1/counters/1/next", web.RoleCounter, map[string]string{"close": "later"}, nil); c != 400 {
		t.Fatalf("bad close: %d", c)
	}
	if c := s.do(t, "POST", "/api/v1/counters/1/next", web.RoleCounter, map[string]string{"close": "finish"}, &tk); c != 200 || tk.Number != 1002 {
		t.Fatalf("next saying finished: %d %+v", c, tk)
	}
	if got, _, _ := s.q.Ticket(1001); got.State != Done {
		t.Fatalf("1001 is %s", got.State)
	}
	var snap Snapshot
	if c := s.do(t, "POST", "/api/v1/counters/1/pause", web.RoleCounter, map[string]string{"close": "finish"}, nil); c != 200 {
		t.Fatalf("pause: %d", c)
	}
	s.do(t, "GET", "/api/v1/queue", web.RoleDisplay, nil, &snap)
	if !snap.Paused["1"] || snap.Current["1"] != nil || snap.Counters[0].ID != "1" || !snap.Counters[0].Paused {
		t.Fatalf("after pause: %+v", snap)
	}
	if c := s.do(t, "POST", "/api/v1/counters/1/resume", web.RoleCounter, nil, nil); c != 200 {
		t.Fatalf("resume: %d", c)
	}
	var after Snapshot
	s.do(t, "GET", "/api/v1/queue", web.RoleDisplay, nil, &after)
	if after.Paused["1"] {
		t.Fatal("resume did not end the pause")
	}
}
