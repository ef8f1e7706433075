// Package queue is the office's ticket queue: services and their number ranges,
// counters, tickets and their states, the routing rules that pick the next ticket, the
// daily numbering, statistics, and the HTTP API and pages for the kiosk, the counter
// console, the display board and the citizen's ticket status.
//
// Every state change is one durable store event (with its counter updates) before
// anyone is told of it; the day's state is only ever rebuilt from those events, so a
// crash or power cut can never make a number repeat. It never keeps personal data: a
// ticket is a number, a service and times.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/display"
)

// Error is a refusal the person at the screen can read: En for logs and programs, Vi
// for the screen, Status for HTTP.
type Error struct {
	Status int
	En, Vi string
}

func (e *Error) Error() string { return e.En }

func refuse(status int, vi, en string, args ...any) error {
	return &Error{Status: status, En: fmt.Sprintf(en, args...), Vi: vi}
}

// ErrNotFound is wrapped by refusals about a ticket that does not exist today.
var ErrNotFound = errors.New("no such ticket today")

// Options build a Queue.
type Options struct {
	Config *config.Queue
	Store  *store.Store
	Bus    *bus.Bus // may be nil
	Log    *slog.Logger
	Now    func() time.Time
	Site   string
}

// Queue is the running queue of one office.
type Queue struct {
	cfg      *config.Queue
	st       *store.Store
	bus      *bus.Bus
	log      *slog.Logger
	now      func() time.Time
	site     string
	services map[string]config.QueueService
	counters map[string]config.QueueCounter
	routing  Routing

	// mu serialises decisions: a state change is decided, made durable and applied
	// while it is held, so two counters can never be handed the same ticket.
	mu   sync.Mutex
	book *book
	// notice is said on the dashboard when today's numbering had to continue in a fresh
	// range after the record was reset (empty otherwise).
	notice string
}

// Change is a message on Topic: a ticket's new state, or (Action "card") a kiosk
// station's card-priority decision. Queue messages carry no personal data.
type Change struct {
	Action   string   `json:"action"` // issued, called, recalled, noshow, started, finished, cancelled, transferred, card
	Number   int      `json:"number,omitempty"`
	Service  string   `json:"service,omitempty"`
	Counter  string   `json:"counter,omitempty"`
	State    string   `json:"state,omitempty"`
	Recalls  int      `json:"recalls,omitempty"`
	Priority bool     `json:"priority"`
	Clips    []string `json:"clips,omitempty"` // the call's voice clips, in order
	Text     string   `json:"text,omitempty"`  // the call in words
	Station  string   `json:"station,omitempty"`
}

// Topic is the bus topic of every queue change (the display board listens to it).
const Topic = "queue"

// Open rebuilds today's queue from the store.
func Open(ctx context.Context, o Options) (*Queue, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{cfg: o.Config, st: o.Store, bus: o.Bus, log: o.Log, now: o.Now, site: o.Site,
		services: map[string]config.QueueService{}, counters: map[string]config.QueueCounter{},
		routing: Routing{Serves: map[string]map[string]bool{}, Weight: map[string]int{}}}
	for _, s := range o.Config.Services {
		q.services[s.Code] = s
		q.routing.Weight[s.Code] = s.Weight
	}
	for _, c := range o.Config.Counters {
		q.counters[c.ID] = c
		q.routing.Serves[c.ID] = map[string]bool{}
		for _, s := range c.Services {
			q.routing.Serves[c.ID][s] = true
		}
	}
	b, err := q.replay(ctx, q.st.Day(q.now()))
	if err != nil {
		return nil, err
	}
	q.afterReset(ctx, b)
	q.book = b
	q.log.Info("queue: today's state rebuilt", "day", b.day, "tickets", len(b.tickets))
	return q, nil
}

// afterReset keeps today's numbers unique when the record was started afresh today
// (the old one was damaged): the numbers the old file still shows are taken as issued;
// if it cannot be read at all, today's numbering goes on from the middle of each
// service's range, above anything issued this morning, and the dashboard says so.
func (q *Queue) afterReset(ctx context.Context, b *book) {
	aside, at, ok := q.st.Reset(ctx)
	if !ok || q.st.Day(at) != b.day {
		return
	}
	if old, err := store.OpenReadOnly(ctx, aside, q.st.Location()); err == nil {
		oq := &Queue{st: old, log: q.log, now: q.now}
		ob, err := oq.replay(ctx, b.day)
		old.Close()
		if err == nil {
			for svc, n := range ob.last {
				b.last[svc] = max(b.last[svc], n)
			}
			q.log.Info("queue: record was reset today; numbers issued before it were read from the old file", "file", aside)
			return
		}
	}
	for code, svc := range q.services {
		b.last[code] = max(b.last[code], svc.First+(svc.Last-svc.First+1)/2-1)
	}
	q.notice = "Sổ ghi được làm mới lúc " + at.In(q.st.Location()).Format("15:04") +
		" và không đọc lại được số đã phát sáng nay: số thứ tự hôm nay tiếp tục từ giữa dải số của mỗi dịch vụ để không trùng."
	q.log.Warn("queue: record was reset today and the old file is unreadable; numbering continues from the middle of each range", "file", aside)
}

// Notice is what the dashboard should say about today's numbering ("" when nothing).
func (q *Queue) Notice() string { return q.notice }

// replay rebuilds one day's book from its durable events.
func (q *Queue) replay(ctx context.Context, day string) (*book, error) {
	b := newBook(day)
	start, err := time.ParseInLocation("2006-01-02", day, q.st.Location())
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "Ngày không hợp lệ.", "bad day %q: want YYYY-MM-DD", day)
	}
	// A little slack either side: Day is what decides, the time range only narrows.
	f := store.EventFilter{Kinds: allKinds, Since: start.Add(-time.Hour), Until: start.AddDate(0, 0, 1).Add(time.Hour), Limit: 1000}
	for {
		evs, err := q.st.Events(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("queue: replay %s: %w", day, err)
		}
		for _, e := range evs {
			f.AfterSeq = e.Seq
			if e.Day != day {
				continue
			}
			if err := b.apply(e); err != nil {
				// A bad event must not stop the office; log it and go on.
				q.log.Warn("queue: replay: skipped an event", "err", err)
			}
		}
		if len(evs) < f.Limit {
			return b, nil
		}
	}
}

// today returns the book of the current day, starting a new one at local midnight.
// Called with mu held.
func (q *Queue) today(now time.Time) *book {
	if d := q.st.Day(now); d != q.book.day {
		q.log.Info("queue: new day, numbering restarts", "day", d, "left_waiting", len(q.book.waiting()))
		q.book = newBook(d)
	}
	return q.book
}

// commit makes one state change durable and applies it. Called with mu held.
func (q *Queue) commit(ctx context.Context, b *book, e store.Event) (Ticket, error) {
	e.Site = q.site
	e, err := q.st.Append(ctx, e)
	if err != nil {
		return Ticket{}, fmt.Errorf("queue: record %s: %w", e.Kind, err)
	}
	if err := b.apply(e); err != nil {
		return Ticket{}, fmt.Errorf("queue: apply %s: %w", e.Kind, err)
	}
	n, _ := attrInt(e.Attrs, "number")
	return *b.tickets[n], nil
}

func (q *Queue) publish(action string, t Ticket) {
	if q.bus == nil {
		return
	}
	m := Change{Action: action, Number: t.Number, Service: t.Service, Counter: t.Counter,
		State: string(t.State), Recalls: t.Recalls, Priority: t.Priority}
	if action == "called" || action == "recalled" {
		// The display board plays these clips in order: "mời số … đến quầy số …".
		if clips, err := display.CallClips(t.Number, t.Counter); err == nil {
			m.Clips = clips
			m.Text = display.Words(clips)
		}
	}
	q.bus.Publish(bus.Message{Topic: Topic, Public: m})
}

// Issue takes a new ticket for a service.
func (q *Queue) Issue(ctx context.Context, service string, priority bool) (Ticket, error) {
	svc, ok := q.services[service]
	if !ok {
		return Ticket{}, refuse(http.StatusBadRequest, "Dịch vụ không tồn tại.", "unknown service %q", service)
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	n := b.last[service] + 1
	if n < svc.First {
		n = svc.First
	}
	if n > svc.Last {
		q.mu.Unlock()
		return Ticket{}, refuse(http.StatusConflict, "Đã hết số thứ tự của dịch vụ này trong ngày.",
			"service %s: all numbers %d..%d used today", service, svc.First, svc.Last)
	}
	t, err := q.commit(ctx, b, store.Event{Kind: KindIssued, Time: now, Service: service,
		Attrs:  map[string]any{"number": n, "priority": priority},
		Counts: []store.Count{{Metric: MetricIssued, Dims: map[string]string{"service": service}, Value: 1}}})
	q.mu.Unlock()
	if err == nil {
		q.publish("issued", t)
	}
	return t, err
}

func (q *Queue) checkCounter(counter string) error {
	if _, ok := q.counters[counter]; !ok {
		return refuse(http.StatusNotFound, "Quầy không tồn tại.", "unknown counter %q", counter)
	}
	return nil
}

// Next calls the next ticket for a counter by the routing rules; nothing waiting is a
// refusal with status 404.
func (q *Queue) Next(ctx context.Context, counter string) (Ticket, error) {
	if err := q.checkCounter(counter); err != nil {
		return Ticket{}, err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	t := q.routing.Next(b.waiting(), counter, now)
	if t == nil {
		q.mu.Unlock()
		return Ticket{}, refuse(http.StatusNotFound, "Không còn ai đang chờ.", "nobody is waiting for counter %s", counter)
	}
	out, err := q.callLocked(ctx, b, t, counter, now)
	q.mu.Unlock()
	if err == nil {
		q.publish("called", out)
	}
	return out, err
}

func (q *Queue) callLocked(ctx context.Context, b *book, t *Ticket, counter string, now time.Time) (Ticket, error) {
	ev := store.Event{Kind: KindCalled, Time: now, Service: t.Service, Counter: counter,
		Attrs: map[string]any{"number": t.Number}}
	if t.FirstCalledAt.IsZero() {
		ev.Counts = []store.Count{{Metric: MetricWaitSeconds, Dims: map[string]string{"service": t.Service},
			Value: int64(now.Sub(t.IssuedAt) / time.Second)}}
	}
	return q.commit(ctx, b, ev)
}

// Call calls a given number at a counter (a citizen who came back, a number asked for
// by the official).
func (q *Queue) Call(ctx context.Context, counter string, number int) (Ticket, error) {
	if err := q.checkCounter(counter); err != nil {
		return Ticket{}, err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	t, err := b.find(number)
	var out Ticket
	if err == nil {
		if t.State != Waiting && t.State != NoShow && t.State != Called {
			err = refuse(http.StatusConflict, "Số này đã được phục vụ hoặc đã huỷ.", "ticket %d is %s", t.Number, t.State)
		} else {
			out, err = q.callLocked(ctx, b, t, counter, now)
		}
	}
	q.mu.Unlock()
	if err == nil {
		q.publish("called", out)
	}
	return out, err
}

// find returns today's ticket by number.
func (b *book) find(number int) (*Ticket, error) {
	t := b.tickets[number]
	if t == nil {
		return nil, &Error{Status: http.StatusNotFound, En: fmt.Sprintf("ticket %d: %v", number, ErrNotFound),
			Vi: "Không có số này trong ngày hôm nay."}
	}
	return t, nil
}

// change runs one decision about an existing ticket under the lock: decide returns the
// event to record (Time, Service and the number are filled in here).
func (q *Queue) change(ctx context.Context, number int, action string, decide func(t *Ticket, now time.Time) (store.Event, error)) (Ticket, error) {
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	var out Ticket
	t, err := b.find(number)
	if err == nil {
		var ev store.Event
		if ev, err = decide(t, now); err == nil {
			ev.Time, ev.Service = now, t.Service
			if to, ok := ev.Attrs["to_service"].(string); ok {
				ev.Service = to
			}
			ev.Attrs["number"] = t.Number
			out, err = q.commit(ctx, b, ev)
		}
	}
	q.mu.Unlock()
	if err == nil {
		q.publish(action, out)
	}
	return out, err
}

// Recall calls a called ticket again (the display repeats it).
func (q *Queue) Recall(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "recalled", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Called {
			return store.Event{}, refuse(http.StatusConflict, "Chỉ gọi lại được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		return store.Event{Kind: KindRecalled, Counter: t.Counter, Attrs: map[string]any{}}, nil
	})
}

// NoShow marks a called ticket absent, once it has been recalled enough times.
func (q *Queue) NoShow(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "noshow", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Called {
			return store.Event{}, refuse(http.StatusConflict, "Chỉ đánh dấu vắng mặt được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		if t.Recalls < q.cfg.NoShowAfterRecalls {
			return store.Event{}, refuse(http.StatusConflict,
				fmt.Sprintf("Cần gọi lại ít nhất %d lần trước khi đánh dấu vắng mặt (đã gọi lại %d lần).", q.cfg.NoShowAfterRecalls, t.Recalls),
				"ticket %d recalled %d times, %d needed before no-show", t.Number, t.Recalls, q.cfg.NoShowAfterRecalls)
		}
		return store.Event{Kind: KindNoShow, Counter: t.Counter, Attrs: map[string]any{},
			Counts: []store.Count{{Metric: MetricNoShow, Dims: map[string]string{"service": t.Service, "counter": t.Counter}, Value: 1}}}, nil
	})
}

// Start marks that the citizen of a called ticket sat down.
func (q *Queue) Start(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "started", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Called {
			return store.Event{}, refuse(http.StatusConflict, "Chỉ bắt đầu phục vụ được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		return store.Event{Kind: KindStarted, Counter: t.Counter, Attrs: map[string]any{}}, nil
	})
}

// Finish ends the service of a ticket.
func (q *Queue) Finish(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "finished", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Called && t.State != Serving {
			return store.Event{}, refuse(http.StatusConflict, "Số này chưa được gọi hoặc đã kết thúc.", "ticket %d is %s", t.Number, t.State)
		}
		from := t.StartedAt
		if from.IsZero() {
			from = t.CalledAt
		}
		dims := map[string]string{"service": t.Service, "counter": t.Counter}
		return store.Event{Kind: KindFinished, Counter: t.Counter, Attrs: map[string]any{},
			Counts: []store.Count{{Metric: MetricServed, Dims: dims, Value: 1},
				{Metric: MetricServiceSeconds, Dims: dims, Value: int64(now.Sub(from) / time.Second)}}}, nil
	})
}

// Cancel withdraws a ticket that is waiting or called.
func (q *Queue) Cancel(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "cancelled", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Waiting && t.State != Called {
			return store.Event{}, refuse(http.StatusConflict, "Chỉ huỷ được số đang chờ hoặc đang được gọi.", "ticket %d is %s", t.Number, t.State)
		}
		return store.Event{Kind: KindCancelled, Counter: t.Counter, Attrs: map[string]any{}}, nil
	})
}

// Transfer sends a ticket back to waiting, for another service and/or one counter.
func (q *Queue) Transfer(ctx context.Context, number int, toService, toCounter string) (Ticket, error) {
	if toService != "" {
		if _, ok := q.services[toService]; !ok {
			return Ticket{}, refuse(http.StatusBadRequest, "Dịch vụ không tồn tại.", "unknown service %q", toService)
		}
	}
	if toCounter != "" {
		if err := q.checkCounter(toCounter); err != nil {
			return Ticket{}, err
		}
	}
	if toService == "" && toCounter == "" {
		return Ticket{}, refuse(http.StatusBadRequest, "Chọn dịch vụ hoặc quầy để chuyển đến.", "transfer needs a service or a counter")
	}
	return q.change(ctx, number, "transferred", func(t *Ticket, now time.Time) (store.Event, error) {
		if t.State != Called && t.State != Serving && t.State != Waiting {
			return store.Event{}, refuse(http.StatusConflict, "Số này đã kết thúc, không chuyển được.", "ticket %d is %s", t.Number, t.State)
		}
		svc := toService
		if svc == "" {
			svc = t.Service
		}
		return store.Event{Kind: KindTransferred, Counter: t.Counter,
			Attrs: map[string]any{"to_service": svc, "to_counter": toCounter, "from_service": t.Service}}, nil
	})
}

// Ticket returns today's ticket by number, with how many are ahead of it.
func (q *Queue) Ticket(number int) (Ticket, int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.today(q.now())
	t, err := b.find(number)
	if err != nil {
		return Ticket{}, 0, err
	}
	return *t, q.aheadLocked(b, t), nil
}

// aheadLocked counts the waiting tickets of the same service queued before t (priority
// ones count too). Called with mu held.
func (q *Queue) aheadLocked(b *book, t *Ticket) int {
	if t.State != Waiting {
		return 0
	}
	n := 0
	for _, o := range b.waiting() {
		if o != t && o.Service == t.Service && (o.QueuedAt.Before(t.QueuedAt) ||
			(o.QueuedAt.Equal(t.QueuedAt) && o.Number < t.Number) || (o.Priority && !t.Priority)) {
			n++
		}
	}
	return n
}

// Estimate is the expected wait of a ticket with ahead tickets before it: the day's
// average service time so far (the configured one until some are finished), shared by
// the counters that serve the service.
func (q *Queue) Estimate(service string, ahead int) time.Duration {
	q.mu.Lock()
	b := q.today(q.now())
	var sum time.Duration
	var n int
	for _, t := range b.tickets {
		if t.State == Done && t.Service == service {
			from := t.StartedAt
			if from.IsZero() {
				from = t.CalledAt
			}
			sum += t.FinishedAt.Sub(from)
			n++
		}
	}
	q.mu.Unlock()
	avg := time.Duration(q.cfg.AverageServiceMinutes) * time.Minute
	if n > 0 {
		avg = sum / time.Duration(n)
	}
	counters := len(q.CountersFor(service))
	if counters == 0 {
		counters = 1
	}
	return avg * time.Duration(ahead) / time.Duration(counters)
}

// CountersFor lists the counters that serve a service, in config order.
func (q *Queue) CountersFor(service string) []config.QueueCounter {
	var out []config.QueueCounter
	for _, c := range q.cfg.Counters {
		if q.routing.Serves[c.ID][service] {
			out = append(out, c)
		}
	}
	return out
}

// Service returns a service's configuration.
func (q *Queue) Service(code string) (config.QueueService, bool) {
	s, ok := q.services[code]
	return s, ok
}

// Snapshot is the queue as the console and the display board show it.
type Snapshot struct {
	Day     string             `json:"day"`
	Waiting []Ticket           `json:"waiting"`
	Current map[string]*Ticket `json:"current"` // per counter: the ticket it called last, if still open
	Recent  []Ticket           `json:"recent"`  // the last calls, newest first
}

// Snapshot returns the current state.
func (q *Queue) Snapshot() Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.today(q.now())
	s := Snapshot{Day: b.day, Current: map[string]*Ticket{}, Waiting: []Ticket{}, Recent: []Ticket{}}
	for _, t := range b.waiting() {
		s.Waiting = append(s.Waiting, *t)
	}
	var called []Ticket
	for _, t := range b.tickets {
		if !t.CalledAt.IsZero() {
			called = append(called, *t)
		}
		if (t.State == Called || t.State == Serving) && t.Counter != "" {
			if c := s.Current[t.Counter]; c == nil || c.CalledAt.Before(t.CalledAt) {
				tc := *t
				s.Current[t.Counter] = &tc
			}
		}
	}
	sort.Slice(called, func(i, j int) bool { return called[i].CalledAt.After(called[j].CalledAt) })
	if len(called) > 8 {
		called = called[:8]
	}
	s.Recent = append(s.Recent, called...)
	return s
}

// Press does what a counter's key on a call keypad means: next, call a number, or
// recall, start, finish or no-show on the ticket the counter has open.
func (q *Queue) Press(ctx context.Context, counter, action string, number int) (Ticket, error) {
	switch action {
	case "next":
		return q.Next(ctx, counter)
	case "call":
		return q.Call(ctx, counter, number)
	}
	if err := q.checkCounter(counter); err != nil {
		return Ticket{}, err
	}
	cur := q.Snapshot().Current[counter]
	if cur == nil {
		return Ticket{}, refuse(http.StatusConflict, "Quầy chưa gọi số nào.", "counter %s has no open ticket", counter)
	}
	switch action {
	case "recall":
		return q.Recall(ctx, cur.Number)
	case "start":
		return q.Start(ctx, cur.Number)
	case "finish":
		return q.Finish(ctx, cur.Number)
	case "noshow":
		return q.NoShow(ctx, cur.Number)
	}
	return Ticket{}, refuse(http.StatusBadRequest, "Phím không hợp lệ.", "unknown key action %q", action)
}
