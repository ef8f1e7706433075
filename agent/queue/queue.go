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
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/display"
)

// Error is a refusal the person at the screen can read: En for logs and programs, Vi
// for the screen, Status for HTTP.
type Error struct {
	Status int
	En, Vi string
	// Open and Choices are set when "next" needs the official to say how the open
	// ticket ended: its number, and what may be done ("finish", "recall").
	Open    int
	Choices []string
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
	// Staff are the officers who may sign in at the counters, and StaffKey the site's
	// key their hashes were made with (nil: nobody can sign in).
	Staff    *config.Staff
	StaffKey StaffKey
	// Sign makes a keyed hash of a text (the site's ID-hash secret): a ticket's rating
	// link carries one, so only the ticket's holder can rate it. nil: no rating links.
	Sign func(string) string
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

	staff    *config.Staff
	staffKey StaffKey
	sign     func(string) string
	// pinMu guards the wrong-PIN counts per counter and how long each is held back.
	pinMu     sync.Mutex
	pinFails  map[string]int
	pinLocked map[string]time.Time
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
		routing: Routing{Serves: map[string]map[string]bool{}, Weight: map[string]int{}},
		staff:   o.Staff, staffKey: o.StaffKey, sign: o.Sign, pinFails: map[string]int{}, pinLocked: map[string]time.Time{}}
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
	aside, at, ok := q.st.Reset()
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

// record is a ticket event before it is durable: its attributes stay typed until
// commit encodes them.
type record struct {
	store.Event
	attrs ticketEvent
}

// commit makes one state change durable and applies it. Called with mu held. A
// ticket's call, finish, transfer or no-show (any change made at a counter) carries the
// officer signed in there.
func (q *Queue) commit(ctx context.Context, b *book, r record) (Ticket, error) {
	e := r.Event
	e.Site = q.site
	if id := b.officer[e.Counter]; id != "" && e.Counter != "" && e.Kind != KindIssued && e.Kind != KindRated {
		r.attrs.ticket().Staff = id
	}
	e.Attrs = store.AttrsOf(r.attrs)
	e, err := q.st.Append(ctx, e)
	if err != nil {
		return Ticket{}, fmt.Errorf("queue: record %s: %w", e.Kind, err)
	}
	if err := b.apply(e); err != nil {
		return Ticket{}, fmt.Errorf("queue: apply %s: %w", e.Kind, err)
	}
	return *b.tickets[r.attrs.ticket().Number], nil
}

func (q *Queue) publish(action string, t Ticket) {
	if q.bus == nil {
		return
	}
	m := Change{Action: action, Number: t.Number, Service: t.Service, Counter: t.Counter,
		State: string(t.State), Recalls: t.Recalls, Priority: t.Priority}
	if action == "called" || action == "recalled" {
		// The display board plays these clips in order: "mời công dân có số thứ tự … đến quầy số …".
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
	t, err := q.commit(ctx, b, record{store.Event{Kind: KindIssued, Time: now, Service: service,
		Counts: []store.Count{{Metric: MetricIssued, Dims: map[string]string{"service": service}, Value: 1}}},
		&IssuedAttrs{TicketAttrs{Number: n}, priority}})
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

// Close says what "next" (or a call, or a pause) does with the ticket the counter still
// has open.
type Close string

const (
	// CloseAuto finishes a ticket being served and marks a called one absent once it
	// has been recalled queue.no_show_after_recalls times; a called ticket recalled
	// fewer times is ambiguous and refused with the choices (Error.Choices).
	CloseAuto Close = ""
	// CloseFinish finishes it (the citizen came and was served).
	CloseFinish Close = "finish"
	// CloseNoShow marks it absent (allowed after the configured recalls).
	CloseNoShow Close = "noshow"
)

// ParseClose reads a close choice from a request.
func ParseClose(s string) (Close, error) {
	switch c := Close(s); c {
	case CloseAuto, CloseFinish, CloseNoShow:
		return c, nil
	}
	return "", refuse(http.StatusBadRequest, "Lựa chọn không hợp lệ.", "close must be finish or noshow, got %q", s)
}

// change is one state change to announce once the lock is released.
type change struct {
	action string
	t      Ticket
}

// closeOpenLocked ends the tickets counter still has open, as how says, so that a
// counter never leaves a ticket called when it moves on. Called with mu held; on a
// refusal nothing has changed.
func (q *Queue) closeOpenLocked(ctx context.Context, b *book, counter string, how Close, now time.Time) ([]change, error) {
	open := b.open(counter)
	// Decide for every open ticket first, so a refusal changes nothing.
	evs := make([]record, 0, len(open))
	for _, t := range open {
		var ev record
		var err error
		switch {
		case how == CloseFinish || (how == CloseAuto && t.State == Serving):
			ev = q.finishEvent(t, now)
		case how == CloseNoShow && t.State == Serving:
			err = refuse(http.StatusConflict, fmt.Sprintf("Số %d đang được phục vụ, không đánh dấu vắng mặt được.", t.Number),
				"ticket %d is being served, not absent", t.Number)
		case t.Recalls >= q.cfg.NoShowAfterRecalls:
			ev, err = q.noShowEvent(t)
		case how == CloseNoShow:
			_, err = q.noShowEvent(t)
		default:
			e := refuse(http.StatusConflict,
				fmt.Sprintf("Số %d vẫn đang được gọi (đã gọi lại %d lần). Chọn: đã phục vụ xong, hoặc gọi lại số này.", t.Number, t.Recalls),
				"counter %s: ticket %d is still called (recalled %d of %d times): say finish, or recall it", counter, t.Number, t.Recalls, q.cfg.NoShowAfterRecalls).(*Error)
			e.Open, e.Choices = t.Number, []string{string(CloseFinish), "recall"}
			err = e
		}
		if err != nil {
			return nil, err
		}
		ev.Time, ev.Service = now, t.Service
		ev.attrs.ticket().Number = t.Number
		ev.attrs.(*ClosedAttrs).By = "next"
		evs = append(evs, ev)
	}
	var out []change
	for _, ev := range evs {
		t, err := q.commit(ctx, b, ev)
		if err != nil {
			return out, err
		}
		out = append(out, change{action: actionOf(ev.Kind), t: t})
	}
	return out, nil
}

func actionOf(kind string) string {
	switch kind {
	case KindFinished:
		return "finished"
	case KindNoShow:
		return "noshow"
	}
	return kind
}

func (q *Queue) finishEvent(t *Ticket, now time.Time) record {
	from := t.StartedAt
	if from.IsZero() {
		from = t.CalledAt
	}
	dims := map[string]string{"service": t.Service, "counter": t.Counter}
	return record{store.Event{Kind: KindFinished, Counter: t.Counter,
		Counts: []store.Count{{Metric: MetricServed, Dims: dims, Value: 1},
			{Metric: MetricServiceSeconds, Dims: dims, Value: int64(now.Sub(from) / time.Second)}}}, &ClosedAttrs{}}
}

func (q *Queue) noShowEvent(t *Ticket) (record, error) {
	if t.Recalls < q.cfg.NoShowAfterRecalls {
		return record{}, refuse(http.StatusConflict,
			fmt.Sprintf("Cần gọi lại ít nhất %d lần trước khi đánh dấu vắng mặt (đã gọi lại %d lần).", q.cfg.NoShowAfterRecalls, t.Recalls),
			"ticket %d recalled %d times, %d needed before no-show", t.Number, t.Recalls, q.cfg.NoShowAfterRecalls)
	}
	return record{store.Event{Kind: KindNoShow, Counter: t.Counter,
		Counts: []store.Count{{Metric: MetricNoShow, Dims: map[string]string{"service": t.Service, "counter": t.Counter}, Value: 1}}}, &ClosedAttrs{}}, nil
}

func (q *Queue) announce(cs []change) {
	for _, c := range cs {
		q.publish(c.action, c.t)
	}
}

// Next closes the counter's open ticket (see Close), then calls the next ticket by the
// routing rules. Nothing waiting is a refusal with status 404 (the open ticket is closed
// all the same). A paused counter is resumed.
func (q *Queue) Next(ctx context.Context, counter string, how Close) (Ticket, error) {
	if err := q.checkCounter(counter); err != nil {
		return Ticket{}, err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	done, err := q.closeOpenLocked(ctx, b, counter, how, now)
	if err == nil && b.paused[counter] {
		err = q.pauseLocked(ctx, b, counter, false, now)
	}
	var out Ticket
	if err == nil {
		if t := q.routing.Next(b.waiting(), counter, now); t == nil {
			vi := "Không còn ai đang chờ."
			if len(done) > 0 {
				vi = fmt.Sprintf("Đã kết thúc số %d. Không còn ai đang chờ.", done[len(done)-1].t.Number)
			}
			err = refuse(http.StatusNotFound, vi, "nobody is waiting for counter %s", counter)
		} else if out, err = q.callLocked(ctx, b, t, counter, now); err == nil {
			done = append(done, change{"called", out})
		}
	}
	q.mu.Unlock()
	q.announce(done)
	return out, err
}

// Pause closes the counter's open ticket (see Close) and stops routing tickets to it
// until Resume or its next "next"; the board shows it paused.
func (q *Queue) Pause(ctx context.Context, counter string, how Close) error {
	if err := q.checkCounter(counter); err != nil {
		return err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	done, err := q.closeOpenLocked(ctx, b, counter, how, now)
	if err == nil && !b.paused[counter] {
		err = q.pauseLocked(ctx, b, counter, true, now)
	}
	q.mu.Unlock()
	q.announce(done)
	if err == nil {
		q.publish("paused", Ticket{Counter: counter})
	}
	return err
}

// Resume ends a counter's pause.
func (q *Queue) Resume(ctx context.Context, counter string) error {
	if err := q.checkCounter(counter); err != nil {
		return err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	var err error
	if b.paused[counter] {
		err = q.pauseLocked(ctx, b, counter, false, now)
	}
	q.mu.Unlock()
	if err == nil {
		q.publish("resumed", Ticket{Counter: counter})
	}
	return err
}

func (q *Queue) pauseLocked(ctx context.Context, b *book, counter string, pause bool, now time.Time) error {
	kind := KindResumed
	if pause {
		kind = KindPaused
	}
	e, err := q.st.Append(ctx, store.Event{Kind: kind, Time: now, Site: q.site, Counter: counter})
	if err != nil {
		return fmt.Errorf("queue: record %s: %w", kind, err)
	}
	return b.apply(e)
}

func (q *Queue) callLocked(ctx context.Context, b *book, t *Ticket, counter string, now time.Time) (Ticket, error) {
	ev := record{store.Event{Kind: KindCalled, Time: now, Service: t.Service, Counter: counter},
		&TicketAttrs{Number: t.Number}}
	if t.FirstCalledAt.IsZero() {
		// The wait and the ticket it belongs to, counted together (FigureAvgWait).
		d := ticketDims(t.Service, counter)
		ev.Counts = []store.Count{{Metric: MetricWaitSeconds, Dims: d, Value: waitSeconds(t.IssuedAt, now)},
			{Metric: vocab.TicketsFirstCalls, Dims: d, Value: 1}}
	}
	if t.State == NoShow {
		// The absent citizen came back: the day's no-shows count them no more, so the
		// counters keep equal to the tickets' final states.
		ev.Counts = append(ev.Counts, store.Count{Metric: MetricNoShow,
			Dims: map[string]string{"service": t.Service, "counter": t.Counter}, Value: -1})
	}
	return q.commit(ctx, b, ev)
}

// Call calls a given number at a counter (a citizen who came back, a number asked for
// by the official), closing the counter's open ticket first (see Close).
func (q *Queue) Call(ctx context.Context, counter string, number int, how Close) (Ticket, error) {
	if err := q.checkCounter(counter); err != nil {
		return Ticket{}, err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	t, err := b.find(number)
	var out Ticket
	var done []change
	if err == nil {
		if t.State != Waiting && t.State != NoShow && t.State != Called {
			err = refuse(http.StatusConflict, "Số này đã được phục vụ hoặc đã hủy.", "ticket %d is %s", t.Number, t.State)
		} else if t.State == Called && t.Counter == counter {
			err = refuse(http.StatusConflict, "Số này đang được gọi ở quầy này: bấm Gọi lại.", "ticket %d is already called at counter %s", t.Number, counter)
		}
	}
	if err == nil {
		done, err = q.closeOpenLocked(ctx, b, counter, how, now)
	}
	if err == nil && b.paused[counter] {
		err = q.pauseLocked(ctx, b, counter, false, now)
	}
	if err == nil {
		if out, err = q.callLocked(ctx, b, t, counter, now); err == nil {
			done = append(done, change{"called", out})
		}
	}
	q.mu.Unlock()
	q.announce(done)
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
func (q *Queue) change(ctx context.Context, number int, action string, decide func(t *Ticket, now time.Time) (record, error)) (Ticket, error) {
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	var out Ticket
	t, err := b.find(number)
	if err == nil {
		var ev record
		if ev, err = decide(t, now); err == nil {
			ev.Time, ev.Service = now, t.Service
			if tr, ok := ev.attrs.(*TransferredAttrs); ok {
				ev.Service = tr.ToService
			}
			ev.attrs.ticket().Number = t.Number
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
	return q.change(ctx, number, "recalled", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Called {
			return record{}, refuse(http.StatusConflict, "Chỉ gọi lại được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		return record{store.Event{Kind: KindRecalled, Counter: t.Counter,
			Counts: []store.Count{{Metric: vocab.TicketsRecalls, Dims: ticketDims(t.Service, t.Counter), Value: 1}}}, &TicketAttrs{}}, nil
	})
}

// NoShow marks a called ticket absent, once it has been recalled enough times.
func (q *Queue) NoShow(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "noshow", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Called {
			return record{}, refuse(http.StatusConflict, "Chỉ đánh dấu vắng mặt được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		return q.noShowEvent(t)
	})
}

// Start marks that the citizen of a called ticket sat down.
func (q *Queue) Start(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "started", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Called {
			return record{}, refuse(http.StatusConflict, "Chỉ bắt đầu phục vụ được số đang được gọi.", "ticket %d is %s, not called", t.Number, t.State)
		}
		return record{store.Event{Kind: KindStarted, Counter: t.Counter}, &TicketAttrs{}}, nil
	})
}

// Finish ends the service of a ticket.
func (q *Queue) Finish(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "finished", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Called && t.State != Serving {
			return record{}, refuse(http.StatusConflict, "Số này chưa được gọi hoặc đã kết thúc.", "ticket %d is %s", t.Number, t.State)
		}
		return q.finishEvent(t, now), nil
	})
}

// Cancel withdraws a ticket that is waiting or called.
func (q *Queue) Cancel(ctx context.Context, number int) (Ticket, error) {
	return q.change(ctx, number, "cancelled", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Waiting && t.State != Called {
			return record{}, refuse(http.StatusConflict, "Chỉ hủy được số đang chờ hoặc đang được gọi.", "ticket %d is %s", t.Number, t.State)
		}
		return record{store.Event{Kind: KindCancelled, Counter: t.Counter,
			Counts: []store.Count{{Metric: vocab.TicketsCancelled, Dims: ticketDims(t.Service, t.Counter), Value: 1}}}, &TicketAttrs{}}, nil
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
	return q.change(ctx, number, "transferred", func(t *Ticket, now time.Time) (record, error) {
		if t.State != Called && t.State != Serving && t.State != Waiting {
			return record{}, refuse(http.StatusConflict, "Số này đã kết thúc, không chuyển được.", "ticket %d is %s", t.Number, t.State)
		}
		svc := toService
		if svc == "" {
			svc = t.Service
		}
		return record{store.Event{Kind: KindTransferred, Counter: t.Counter,
			Counts: []store.Count{{Metric: vocab.TicketsTransferred, Dims: ticketDims(t.Service, t.Counter), Value: 1}}},
			&TransferredAttrs{ToService: svc, ToCounter: toCounter, FromService: t.Service}}, nil
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

// aheadLocked counts the waiting tickets that will be called before t: every priority
// ticket when t is not one, and those of its own kind queued before it. A ticket
// transferred to one counter is called there before that counter's ordinary tickets
// (Routing.Next), so only the counter's priority tickets and the tickets transferred
// there before it are ahead of it; an ordinary ticket counts the tickets of its service.
// Called with mu held.
func (q *Queue) aheadLocked(b *book, t *Ticket) int {
	if t.State != Waiting {
		return 0
	}
	n := 0
	for _, o := range b.waiting() {
		if o == t {
			continue
		}
		earlier := o.QueuedAt.Before(t.QueuedAt) || (o.QueuedAt.Equal(t.QueuedAt) && o.Number < t.Number)
		if t.TargetCounter != "" {
			if !q.routing.eligible(o, t.TargetCounter) {
				continue
			}
			if (o.Priority && !t.Priority) || (o.Priority == t.Priority && o.TargetCounter == t.TargetCounter && earlier) {
				n++
			}
			continue
		}
		if o.Service != t.Service {
			continue
		}
		if (o.Priority && !t.Priority) || (o.Priority == t.Priority && earlier) {
			n++
		}
	}
	return n
}

// Estimate is the expected wait of a ticket with ahead tickets before it: the day's
// average service time so far (the configured one until some are finished), shared by
// the counters that serve the service and are not paused.
func (q *Queue) Estimate(service string, ahead int) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.estimateLocked(q.today(q.now()), service, ahead)
}

func (q *Queue) estimateLocked(b *book, service string, ahead int) time.Duration {
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
	avg := time.Duration(q.cfg.AverageServiceMinutes) * time.Minute
	if n > 0 {
		avg = sum / time.Duration(n)
	}
	counters := 0
	for _, c := range q.CountersFor(service) {
		if !b.paused[c.ID] {
			counters++
		}
	}
	if counters == 0 {
		counters = 1
	}
	return avg * time.Duration(ahead) / time.Duration(counters)
}

// EstimateMinutes rounds an estimate up to whole minutes, at least 1 when anyone is
// ahead, so a screen never says "about 0 minutes" to someone who will wait.
func EstimateMinutes(d time.Duration, ahead int) int {
	m := int((d + time.Minute - 1) / time.Minute)
	if ahead > 0 && m < 1 {
		m = 1
	}
	if ahead == 0 {
		m = 0
	}
	return m
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
	Current map[string]*Ticket `json:"current"` // per counter: its open ticket, if any
	Recent  []Ticket           `json:"recent"`  // the last calls, newest first
	Paused  map[string]bool    `json:"paused"`
	// Counters and Services are in config order, for the board's tiles and lines.
	Counters []CounterView `json:"counters"`
	Services []ServiceView `json:"services"`
}

// CounterView is one counter's tile on the board.
type CounterView struct {
	ID       string  `json:"id"`
	Location string  `json:"location,omitempty"`
	Paused   bool    `json:"paused"`
	Current  *Ticket `json:"current,omitempty"`
}

// ServiceView is one service's waiting line, with what a new ticket would wait.
type ServiceView struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Waiting     int      `json:"waiting"`
	EstimateMin int      `json:"estimated_wait_min"`
	Counters    []string `json:"counters"`
}

// Snapshot returns the current state.
func (q *Queue) Snapshot() Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.today(q.now())
	s := Snapshot{Day: b.day, Current: map[string]*Ticket{}, Waiting: []Ticket{}, Recent: []Ticket{},
		Paused: map[string]bool{}, Counters: []CounterView{}, Services: []ServiceView{}}
	waiting := map[string]int{}
	for _, t := range b.waiting() {
		s.Waiting = append(s.Waiting, *t)
		waiting[t.Service]++
	}
	var called []Ticket
	for _, t := range b.tickets {
		if !t.CalledAt.IsZero() {
			called = append(called, *t)
		}
	}
	for id, p := range b.paused {
		s.Paused[id] = p
	}
	for _, c := range q.cfg.Counters {
		v := CounterView{ID: c.ID, Location: c.Location, Paused: b.paused[c.ID]}
		if open := b.open(c.ID); len(open) > 0 {
			tc := *open[len(open)-1]
			v.Current, s.Current[c.ID] = &tc, &tc
		}
		s.Counters = append(s.Counters, v)
	}
	for _, sv := range q.cfg.Services {
		n := waiting[sv.Code]
		v := ServiceView{Code: sv.Code, Name: sv.Name, Waiting: n, Counters: []string{},
			EstimateMin: EstimateMinutes(q.estimateLocked(b, sv.Code, n), n)}
		for _, c := range q.CountersFor(sv.Code) {
			v.Counters = append(v.Counters, c.ID)
		}
		s.Services = append(s.Services, v)
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
		return q.Next(ctx, counter, CloseAuto)
	case "call":
		return q.Call(ctx, counter, number, CloseAuto)
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
