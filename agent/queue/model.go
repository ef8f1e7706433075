package queue

import (
	"fmt"
	"sort"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config/vocab"
)

// State is where a ticket is in its life.
type State string

const (
	Waiting   State = "waiting"
	Called    State = "called"
	Serving   State = "serving"
	Done      State = "done"
	NoShow    State = "noshow"
	Cancelled State = "cancelled"
)

// Event kinds, one per state change.
const (
	KindIssued      = "queue.ticket.issued"
	KindCalled      = "queue.ticket.called"
	KindRecalled    = "queue.ticket.recalled"
	KindTransferred = "queue.ticket.transferred"
	KindStarted     = "queue.ticket.started"
	KindFinished    = "queue.ticket.finished"
	KindNoShow      = "queue.ticket.noshow"
	KindCancelled   = "queue.ticket.cancelled"
	// A counter's pause and its end (the official stepped away); no ticket number.
	KindPaused  = "queue.counter.paused"
	KindResumed = "queue.counter.resumed"
	// An officer's sign-in at a counter and its end (staff.go); the officer's staff id
	// in attribute "staff", never a name or an ID number.
	KindSignedIn  = "queue.counter.signed_in"
	KindSignedOut = "queue.counter.signed_out"
	// A citizen's satisfaction rating of a finished ticket (rating.go).
	KindRated = "queue.ticket.rated"
)

var allKinds = []string{KindIssued, KindCalled, KindRecalled, KindTransferred, KindStarted, KindFinished, KindNoShow, KindCancelled,
	KindPaused, KindResumed, KindSignedIn, KindSignedOut, KindRated}

// Metrics (daily counters) the queue keeps.
const (
	MetricIssued         = vocab.TicketsIssued
	MetricServed         = vocab.TicketsServed
	MetricNoShow         = vocab.TicketsNoShow
	MetricWaitSeconds    = vocab.TicketsWaitSeconds
	MetricServiceSeconds = vocab.TicketsServiceSeconds
)

// ticketDims places a ticket's counts: its service and, once a counter has called it,
// that counter (a ticket cancelled while waiting has none).
func ticketDims(service, counter string) map[string]string {
	d := map[string]string{vocab.DimService: service}
	if counter != "" {
		d[vocab.DimCounter] = counter
	}
	return d
}

// waitSeconds is a wait as the counters keep it: whole seconds from issue to first
// call. The day's statistics take the same, so they add up to the counters.
func waitSeconds(issued, firstCalled time.Time) int64 {
	return int64(firstCalled.Sub(issued) / time.Second)
}

// Ticket is one number taken at the kiosk.
type Ticket struct {
	Day     string `json:"day"`
	Number  int    `json:"number"`
	Service string `json:"service"`
	// Priority tickets (elderly, disabled, pregnant) are called before the others.
	Priority bool  `json:"priority"`
	State    State `json:"state"`
	// Counter is the counter that called the ticket last.
	Counter string `json:"counter,omitempty"`
	// TargetCounter is set when the ticket was transferred to one counter.
	TargetCounter string    `json:"target_counter,omitempty"`
	Recalls       int       `json:"recalls"`
	IssuedAt      time.Time `json:"issued_at"`
	// QueuedAt starts the waiting clock routing uses: issue, or the last transfer.
	QueuedAt   time.Time `json:"queued_at"`
	CalledAt   time.Time `json:"called_at,omitzero"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// FirstCalledAt ends the waiting time counted in statistics.
	FirstCalledAt time.Time `json:"first_called_at,omitzero"`
	// ServedBy is the counter that finished it (statistics).
	ServedBy string `json:"served_by,omitempty"`
	// firstService and firstCounter place its wait, as the counters did at its first
	// call (a later transfer moves the ticket, not its wait).
	firstService, firstCounter string
	// finishedBy is the officer signed in at the counter that finished it (staff id);
	// rating is its citizen's rating (0: none). Neither is in the ticket's JSON: a
	// console never shows a rating, nor a page the officer.
	finishedBy string
	rating     int
}

// book is one day of the queue, rebuilt from the day's events.
type book struct {
	day     string
	tickets map[int]*Ticket
	last    map[string]int // service code → highest number issued today
	order   []int          // numbers in issue order
	paused  map[string]bool
	// officer is who is signed in at each counter (staff ids); a new day starts with
	// nobody, which is the day-end sign-out.
	officer map[string]string
}

func newBook(day string) *book {
	return &book{day: day, tickets: map[int]*Ticket{}, last: map[string]int{}, paused: map[string]bool{},
		officer: map[string]string{}}
}

// apply folds one durable event into the book. It is the only way state changes, both
// live and when the day is replayed at start, so the two can never disagree.
func (b *book) apply(e store.Event) error {
	switch e.Kind {
	case KindPaused:
		b.paused[e.Counter] = true
		return nil
	case KindResumed:
		delete(b.paused, e.Counter)
		return nil
	case KindSignedIn:
		var a SignInAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return fmt.Errorf("event %d (%s): %w", e.Seq, e.Kind, err)
		}
		id := a.Staff
		for c, o := range b.officer {
			if o == id {
				delete(b.officer, c) // one counter at a time
			}
		}
		b.officer[e.Counter] = id
		return nil
	case KindSignedOut:
		delete(b.officer, e.Counter)
		return nil
	}
	a, err := ticketAttrsOf(e)
	if err != nil {
		return fmt.Errorf("event %d (%s): %w", e.Seq, e.Kind, err)
	}
	n := a.ticket().Number
	if n == 0 {
		return fmt.Errorf("event %d (%s): no ticket number", e.Seq, e.Kind)
	}
	if a, ok := a.(*IssuedAttrs); ok {
		if _, dup := b.tickets[n]; dup {
			return fmt.Errorf("event %d: number %d issued twice", e.Seq, n)
		}
		t := &Ticket{Day: b.day, Number: n, Service: e.Service, Priority: a.Priority, State: Waiting,
			IssuedAt: e.Time, QueuedAt: e.Time}
		b.tickets[n] = t
		b.order = append(b.order, n)
		if n > b.last[e.Service] {
			b.last[e.Service] = n
		}
		return nil
	}
	t := b.tickets[n]
	if t == nil {
		return fmt.Errorf("event %d (%s): unknown ticket %d", e.Seq, e.Kind, n)
	}
	switch e.Kind {
	case KindCalled:
		t.State, t.Counter, t.CalledAt, t.Recalls, t.TargetCounter = Called, e.Counter, e.Time, 0, ""
		if t.FirstCalledAt.IsZero() {
			t.FirstCalledAt, t.firstService, t.firstCounter = e.Time, t.Service, e.Counter
		}
	case KindRecalled:
		t.Recalls++
		t.CalledAt = e.Time
	case KindTransferred:
		t.State, t.QueuedAt, t.Recalls = Waiting, e.Time, 0
		t.Service = e.Service
		t.TargetCounter = a.(*TransferredAttrs).ToCounter
		t.StartedAt = time.Time{}
	case KindStarted:
		t.State, t.StartedAt = Serving, e.Time
	case KindFinished:
		t.State, t.FinishedAt, t.ServedBy = Done, e.Time, e.Counter
		t.finishedBy = a.ticket().Staff
	case KindRated:
		t.rating = a.(*RatedAttrs).Level
	case KindNoShow:
		t.State, t.FinishedAt = NoShow, e.Time
	case KindCancelled:
		t.State, t.FinishedAt = Cancelled, e.Time
	}
	return nil
}

// ticketAttrsOf reads a ticket event's attributes into its kind's struct.
func ticketAttrsOf(e store.Event) (ticketEvent, error) {
	var a ticketEvent
	switch e.Kind {
	case KindIssued:
		a = &IssuedAttrs{}
	case KindFinished, KindNoShow:
		a = &ClosedAttrs{}
	case KindTransferred:
		a = &TransferredAttrs{}
	case KindRated:
		a = &RatedAttrs{}
	case KindCalled, KindRecalled, KindStarted, KindCancelled:
		a = &TicketAttrs{}
	default:
		return nil, fmt.Errorf("unknown kind %s", e.Kind)
	}
	return a, e.Attrs.Decode(a)
}

// open lists the tickets a counter has called and not closed, oldest call first. The
// queue keeps this to at most one; replaying an older record may show more.
func (b *book) open(counter string) []*Ticket {
	var out []*Ticket
	for _, n := range b.order {
		if t := b.tickets[n]; (t.State == Called || t.State == Serving) && t.Counter == counter {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CalledAt.Before(out[j].CalledAt) })
	return out
}

// waiting lists the waiting tickets in issue order.
func (b *book) waiting() []*Ticket {
	var out []*Ticket
	for _, n := range b.order {
		if t := b.tickets[n]; t.State == Waiting {
			out = append(out, t)
		}
	}
	return out
}

// Routing decides which waiting ticket a counter calls next.
type Routing struct {
	// Serves says which services each counter serves.
	Serves map[string]map[string]bool
	// Weight per service (1 when missing).
	Weight map[string]int
}

// eligible says whether counter may be handed t by "next".
func (r Routing) eligible(t *Ticket, counter string) bool {
	if t.State != Waiting {
		return false
	}
	if t.TargetCounter != "" {
		return t.TargetCounter == counter
	}
	return r.Serves[counter][t.Service]
}

// Next picks the ticket counter should call at now, or nil: priority tickets first,
// then tickets transferred to this very counter, then the longest weighted wait
// (waited time × the service's weight, so a quiet service is not starved by a busy one
// and a favoured one moves faster), then the lowest number.
func (r Routing) Next(waiting []*Ticket, counter string, now time.Time) *Ticket {
	var cands []*Ticket
	for _, t := range waiting {
		if r.eligible(t, counter) {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	score := func(t *Ticket) time.Duration {
		w := r.Weight[t.Service]
		if w < 1 {
			w = 1
		}
		return now.Sub(t.QueuedAt) * time.Duration(w)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Priority != b.Priority {
			return a.Priority
		}
		if (a.TargetCounter != "") != (b.TargetCounter != "") {
			return a.TargetCounter != ""
		}
		if sa, sb := score(a), score(b); sa != sb {
			return sa > sb
		}
		return a.Number < b.Number
	})
	return cands[0]
}
