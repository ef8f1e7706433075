package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/testkit"
)

var ict = time.FixedZone("ICT", 7*3600)

func testConfig() *config.Queue {
	q := &config.Queue{Enabled: true,
		Services: []config.QueueService{
			{Code: "A", Name: "Chứng thực", First: 1001, Last: 1999},
			{Code: "B", Name: "Đất đai", First: 2001, Last: 2003},
			{Code: "C", Name: "Doanh nghiệp", First: 3001, Last: 3999, Weight: 3},
		},
		Counters: []config.QueueCounter{
			{ID: "1", Services: []string{"A"}},
			{ID: "2", Services: []string{"A", "B"}},
			{ID: "3", Services: []string{"B", "C"}},
		}}
	// Defaults as config.Load would set them.
	q.NoShowAfterRecalls, q.PriorityAge, q.AverageServiceMinutes = 2, 75, 5
	for i := range q.Services {
		if q.Services[i].Weight == 0 {
			q.Services[i].Weight = 1
		}
	}
	return q
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t testing.TB, path string, now func() time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: path, Location: ict, Now: now, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openQueue(t testing.TB, st *store.Store, now func() time.Time) *Queue {
	t.Helper()
	q, err := Open(context.Background(), Options{Config: testConfig(), Store: st, Log: quietLog(), Now: now, Site: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func newTestQueue(t testing.TB) (*Queue, *testkit.Clock, *store.Store) {
	t.Helper()
	c := testkit.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, ict))
	st := openStore(t, filepath.Join(t.TempDir(), "agent.db"), c.Now)
	t.Cleanup(func() { st.Close() })
	return openQueue(t, st, c.Now), c, st
}

func must(t testing.TB) func(Ticket, error) Ticket {
	return func(tk Ticket, err error) Ticket {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
}

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestNumbering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, _ := newTestQueue(t)
	tests := []struct {
		service string
		want    int
		status  int
	}{
		{"A", 1001, 0}, {"A", 1002, 0}, {"B", 2001, 0}, {"C", 3001, 0}, {"A", 1003, 0},
		{"B", 2002, 0}, {"B", 2003, 0}, {"B", 0, 409}, // range 2001..2003 exhausted
		{"X", 0, 400},
	}
	for i, tc := range tests {
		tk, err := q.Issue(ctx, tc.service, false)
		if tc.status != 0 {
			if status(err) != tc.status {
				t.Fatalf("%d: Issue(%s) err = %v, want status %d", i, tc.service, err, tc.status)
			}
			continue
		}
		if err != nil || tk.Number != tc.want || tk.State != Waiting {
			t.Fatalf("%d: Issue(%s) = %d %s, %v; want %d waiting", i, tc.service, tk.Number, tk.State, err, tc.want)
		}
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, ict)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	r := Routing{
		Serves: map[string]map[string]bool{"1": {"A": true}, "2": {"A": true, "B": true}, "3": {"B": true, "C": true}},
		Weight: map[string]int{"A": 1, "B": 1, "C": 3},
	}
	tk := func(n int, svc string, min int, prio bool, target string) *Ticket {
		return &Ticket{Number: n, Service: svc, State: Waiting, QueuedAt: at(min), Priority: prio, TargetCounter: target}
	}
	tests := []struct {
		name    string
		waiting []*Ticket
		counter string
		now     int
		want    int // 0: nothing
	}{
		{"empty", nil, "1", 10, 0},
		{"oldest first", []*Ticket{tk(1002, "A", 5, false, ""), tk(1001, "A", 1, false, "")}, "1", 10, 1001},
		{"only services served", []*Ticket{tk(2001, "B", 0, false, "")}, "1", 10, 0},
		{"priority beats older", []*Ticket{tk(1001, "A", 0, false, ""), tk(1002, "A", 9, true, "")}, "1", 10, 1002},
		{"priority of another service not served", []*Ticket{tk(1001, "A", 0, false, ""), tk(3001, "C", 9, true, "")}, "1", 10, 1001},
		{"weight: C waiting 4 min x3 beats B waiting 10", []*Ticket{tk(2001, "B", 0, false, ""), tk(3001, "C", 6, false, "")}, "3", 10, 3001},
		{"weight: B waiting 10 beats C waiting 3 x3=9", []*Ticket{tk(2001, "B", 0, false, ""), tk(3001, "C", 7, false, "")}, "3", 10, 2001},
		{"transferred to this counter first", []*Ticket{tk(1001, "A", 0, false, ""), tk(2001, "B", 9, false, "2")}, "2", 10, 2001},
		{"transferred to another counter is not mine", []*Ticket{tk(1001, "A", 0, false, "1")}, "2", 10, 0},
		{"transfer target overrides service", []*Ticket{tk(3001, "C", 0, false, "1")}, "1", 10, 3001},
		{"tie goes to lower number", []*Ticket{tk(1002, "A", 3, false, ""), tk(1001, "A", 3, false, "")}, "2", 10, 1001},
		{"not waiting is skipped", []*Ticket{{Number: 1001, Service: "A", State: Called, QueuedAt: at(0)}}, "1", 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Next(tc.waiting, tc.counter, at(tc.now))
			if (got == nil) != (tc.want == 0) || (got != nil && got.Number != tc.want) {
				t.Fatalf("Next = %v, want %d", got, tc.want)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, c, st := newTestQueue(t)
	t1 := must(t)(q.Issue(ctx, "A", false))
	c.Add(4 * time.Minute)
	got := must(t)(q.Next(ctx, "1", CloseAuto))
	if got.Number != t1.Number || got.State != Called || got.Counter != "1" {
		t.Fatalf("next = %+v", got)
	}
	if _, err := q.NoShow(ctx, t1.Number); status(err) != 409 {
		t.Fatalf("no-show before recalls: %v", err)
	}
	must(t)(q.Recall(ctx, t1.Number))
	if _, err := q.NoShow(ctx, t1.Number); status(err) != 409 {
		t.Fatalf("no-show after 1 recall: %v", err)
	}
	must(t)(q.Recall(ctx, t1.Number))
	ns := must(t)(q.NoShow(ctx, t1.Number))
	if ns.State != NoShow {
		t.Fatalf("state %s", ns.State)
	}
	// The citizen comes back: the official calls the number again, serves and finishes.
	must(t)(q.Call(ctx, "2", t1.Number, CloseAuto))
	must(t)(q.Start(ctx, t1.Number))
	c.Add(7 * time.Minute)
	fin := must(t)(q.Finish(ctx, t1.Number))
	if fin.State != Done || fin.ServedBy != "2" {
		t.Fatalf("finish = %+v", fin)
	}
	if _, err := q.Finish(ctx, t1.Number); status(err) != 409 {
		t.Fatalf("finish twice: %v", err)
	}
	// Transfer to a counter, cancel.
	t2 := must(t)(q.Issue(ctx, "B", false))
	must(t)(q.Next(ctx, "3", CloseAuto))
	tr := must(t)(q.Transfer(ctx, t2.Number, "A", "1"))
	if tr.State != Waiting || tr.Service != "A" || tr.TargetCounter != "1" {
		t.Fatalf("transfer = %+v", tr)
	}
	if _, err := q.Next(ctx, "2", CloseAuto); status(err) != 404 {
		t.Fatalf("counter 2 got a ticket transferred to counter 1: %v", err)
	}
	if n := must(t)(q.Next(ctx, "1", CloseAuto)); n.Number != t2.Number {
		t.Fatalf("counter 1 got %d", n.Number)
	}
	must(t)(q.Cancel(ctx, t2.Number))
	if _, err := q.Recall(ctx, 1555); status(err) != 404 {
		t.Fatalf("unknown ticket: %v", err)
	}

	// Every change is an event, and the counters agree.
	evs, err := st.Events(ctx, store.EventFilter{Kinds: allKinds})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []string{KindIssued, KindCalled, KindRecalled, KindRecalled, KindNoShow, KindCalled, KindStarted, KindFinished,
		KindIssued, KindCalled, KindTransferred, KindCalled, KindCancelled}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", kinds, want)
	}
	rows, err := st.Counters(ctx, "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]int64{}
	for _, r := range rows {
		vals[r.Metric+store.EncodeDims(r.Dims)] += r.Value
	}
	for k, v := range map[string]int64{
		MetricIssued + store.EncodeDims(map[string]string{"service": "A"}):                 1,
		MetricIssued + store.EncodeDims(map[string]string{"service": "B"}):                 1,
		MetricServed + store.EncodeDims(map[string]string{"service": "A", "counter": "2"}): 1,
		// The no-show came back and was served: counted served, no longer absent.
		MetricNoShow + store.EncodeDims(map[string]string{"service": "A", "counter": "1"}):         0,
		MetricWaitSeconds + store.EncodeDims(map[string]string{"service": "A", "counter": "1"}):    240,
		MetricServiceSeconds + store.EncodeDims(map[string]string{"service": "A", "counter": "2"}): 420,
		// Each ticket's first call once, each recall, transfer and cancel once, where it happened.
		vocab.TicketsFirstCalls + store.EncodeDims(map[string]string{"service": "A", "counter": "1"}):  1,
		vocab.TicketsFirstCalls + store.EncodeDims(map[string]string{"service": "B", "counter": "3"}):  1,
		vocab.TicketsRecalls + store.EncodeDims(map[string]string{"service": "A", "counter": "1"}):     2,
		vocab.TicketsTransferred + store.EncodeDims(map[string]string{"service": "B", "counter": "3"}): 1,
		vocab.TicketsCancelled + store.EncodeDims(map[string]string{"service": "A", "counter": "1"}):   1,
	} {
		if vals[k] != v {
			t.Errorf("counter %s = %d, want %d (all: %v)", k, vals[k], v, vals)
		}
	}

	// A fresh queue on the same store rebuilds the same state.
	q2 := openQueue(t, st, c.Now)
	if a, b := fmt.Sprint(q.Snapshot()), fmt.Sprint(q2.Snapshot()); a != b {
		t.Fatalf("replayed state differs:\n%s\n%s", a, b)
	}
}

// Many counters pressing "next" at once never get the same ticket, and every ticket is
// called exactly once.
func TestConcurrentNextNeverDoubleCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, _ := newTestQueue(t)
	const tickets = 120
	for i := 0; i < tickets; i++ {
		must(t)(q.Issue(ctx, []string{"A", "C"}[i%2], i%7 == 0))
	}
	var mu sync.Mutex
	seen := map[int]string{}
	var wg sync.WaitGroup
	var dup atomic.Int32
	for w := 0; w < 12; w++ {
		counter := []string{"1", "2", "3"}[w%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				tk, err := q.Next(ctx, counter, CloseFinish)
				if status(err) == 404 {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, ok := seen[tk.Number]; ok {
					t.Errorf("ticket %d called by %s and %s", tk.Number, prev, counter)
					dup.Add(1)
				}
				seen[tk.Number] = counter
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != tickets || dup.Load() != 0 {
		t.Fatalf("called %d distinct tickets of %d, %d duplicates", len(seen), tickets, dup.Load())
	}
}

func TestKeypadPress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, _ := newTestQueue(t)
	if _, err := q.Press(ctx, "2", "recall", 0); status(err) != 409 {
		t.Fatalf("recall with nothing open: %v", err)
	}
	a := must(t)(q.Issue(ctx, "A", false))
	b := must(t)(q.Issue(ctx, "A", false))
	if got := must(t)(q.Press(ctx, "2", "next", 0)); got.Number != a.Number {
		t.Fatalf("next gave %d", got.Number)
	}
	if got := must(t)(q.Press(ctx, "2", "recall", 0)); got.Recalls != 1 {
		t.Fatalf("recall: %+v", got)
	}
	must(t)(q.Press(ctx, "2", "start", 0))
	if got := must(t)(q.Press(ctx, "2", "finish", 0)); got.State != Done {
		t.Fatalf("finish: %+v", got)
	}
	if got := must(t)(q.Press(ctx, "1", "call", b.Number)); got.Counter != "1" {
		t.Fatalf("call: %+v", got)
	}
	if _, err := q.Press(ctx, "9", "next", 0); status(err) != 404 {
		t.Fatalf("unknown counter: %v", err)
	}
	if _, err := q.Press(ctx, "1", "dance", 0); status(err) != 400 {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestMidnightRollover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, c, st := newTestQueue(t)
	c.Set(time.Date(2026, 3, 2, 23, 59, 58, 0, ict))
	must(t)(q.Issue(ctx, "A", false))
	last := must(t)(q.Issue(ctx, "A", false))
	if last.Number != 1002 || last.Day != "2026-03-02" {
		t.Fatalf("before midnight: %+v", last)
	}
	c.Add(2 * time.Second) // 00:00:00 local, still 17:00 UTC of the day before
	first := must(t)(q.Issue(ctx, "A", false))
	if first.Number != 1001 || first.Day != "2026-03-03" {
		t.Fatalf("after midnight: %+v", first)
	}
	if _, err := q.Recall(ctx, 1002); status(err) != 404 {
		t.Fatalf("yesterday's ticket still callable: %v", err)
	}
	// A restart the next morning keeps today's numbering and not yesterday's.
	c.Add(8 * time.Hour)
	q2 := openQueue(t, st, c.Now)
	if n := must(t)(q2.Issue(ctx, "A", false)); n.Number != 1002 {
		t.Fatalf("after restart: %d, want 1002", n.Number)
	}
	// Yesterday's stats are still there.
	s, err := q2.Stats(ctx, "2026-03-02")
	if err != nil || s.Total.Issued != 2 {
		t.Fatalf("yesterday: %+v %v", s.Total, err)
	}
}

// The helper process for TestNumberingSurvivesSIGKILL: issues tickets as fast as it can
// and prints each number once it is durable, until killed.
func TestMain(m *testing.M) {
	if path := os.Getenv("QUEUE_KILL_HELPER_DB"); path != "" {
		now := func() time.Time { return time.Now() }
		st, err := store.Open(context.Background(), store.Options{Path: path, Location: ict, Logger: quietLog()})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		q, err := Open(context.Background(), Options{Config: testConfig(), Store: st, Log: quietLog(), Now: now})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		for i := 0; ; i++ {
			tk, err := q.Issue(context.Background(), "A", false)
			if err != nil {
				fmt.Println("ERR", err)
				os.Exit(1)
			}
			fmt.Println(tk.Number)
		}
	}
	os.Exit(m.Run())
}

func TestNumberingSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "agent.db")
	issued := map[int]bool{}
	for round := 0; round < 3; round++ {
		child := testkit.SpawnChild(t, "QUEUE_KILL_HELPER_DB="+path)
		got := 0
		take := func(line string) {
			n, err := strconv.Atoi(line)
			if err != nil {
				t.Fatalf("helper said %q", line)
			}
			if issued[n] {
				t.Fatalf("round %d: number %d issued again after SIGKILL", round, n)
			}
			issued[n] = true
			got++
		}
		for line := range child.Lines {
			if take(line); got >= 20+round*7 {
				break
			}
		}
		for _, line := range child.Kill9(t) { // SIGKILL, mid-stream
			take(line)
		}
		if got == 0 {
			t.Fatal("helper issued nothing")
		}
	}
	// And a clean open after the last kill continues above everything seen.
	st := openStore(t, path, nil)
	defer st.Close()
	q := openQueue(t, st, time.Now)
	n := must(t)(q.Issue(context.Background(), "A", false)).Number
	for m := range issued {
		if n <= m {
			t.Fatalf("after restarts issued %d, but %d was already issued", n, m)
		}
	}
}

// A ticket transferred to one counter is called there next, and its citizen's page
// says so: nobody is ahead of it though others of its new service waited longer; a
// priority ticket that counter may call is still ahead of it, as Next would pick.
func TestAheadOfATransferredTicket(t *testing.T) {
	q, c, _ := newTestQueue(t)
	ctx := context.Background()
	b1 := must(t)(q.Issue(ctx, "B", false))
	for range 2 {
		must(t)(q.Issue(ctx, "C", false)) // counter 3's own queue, waiting longer
		c.Add(time.Minute)
	}
	must(t)(q.Next(ctx, "2", CloseAuto)) // 2001 called at counter 2
	must(t)(q.Transfer(ctx, b1.Number, "C", "3"))
	if _, ahead, err := q.Ticket(b1.Number); err != nil || ahead != 0 {
		t.Fatalf("transferred ticket: %d ahead (%v), want 0: counter 3 calls it next", ahead, err)
	}
	p := must(t)(q.Issue(ctx, "C", true))
	if _, ahead, _ := q.Ticket(b1.Number); ahead != 1 {
		t.Fatalf("with a priority ticket for counter 3: %d ahead, want 1", ahead)
	}
	if n := must(t)(q.Next(ctx, "3", CloseAuto)); n.Number != p.Number {
		t.Fatalf("counter 3 called %d, want the priority %d", n.Number, p.Number)
	}
	must(t)(q.Finish(ctx, p.Number))
	if n := must(t)(q.Next(ctx, "3", CloseAuto)); n.Number != b1.Number {
		t.Fatalf("counter 3 called %d, want the transferred %d", n.Number, b1.Number)
	}
	// An ordinary ticket still counts the tickets of its own service queued before it.
	if _, ahead, _ := q.Ticket(3002); ahead != 1 {
		t.Fatalf("3002: %d ahead, want 1 (3001)", ahead)
	}
}
