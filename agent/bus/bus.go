// Package bus carries in-process messages between flows and to the local event stream:
// a scan, a verified identity, a called ticket. Publishing never blocks: a subscriber that
// falls behind loses messages (counted), never the publisher's time.
//
// Each topic's publisher defines the types of its messages in three parts: a public
// part (what every subscriber and the event stream may see), a linkable part (the
// pseudonyms that are the same for one person or dossier at every visit) and a
// personal part (a person's data). Whoever forwards a message drops a part a receiver
// may not see by leaving out its field, never by picking keys: so a publisher must
// never put a pseudonym or a person's data in the public part.
package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Message is one published fact. Public and Personal hold the topic's own types
// (checkin.Scan and checkin.ScanPersonal on "scan", identity.Status and
// identity.Person on "identity", clinic.View and clinic.Patient on "clinic",
// queue.Change on "queue" …); Linkable and Personal are nil when the fact carries
// neither.
type Message struct {
	Topic    string    `json:"topic"`
	Time     time.Time `json:"time"`
	Public   any       `json:"data"`
	Linkable *Linkable `json:"linkable,omitempty"`
	Personal any       `json:"personal,omitempty"`
}

// Linkable holds a message's pseudonyms: not personal data by themselves, but stable
// per person or per dossier, so whoever sees them can link one person's visits (a
// keyed hash of an ID number is the same at every visit; a dossier code finds its
// applicant on the public look-up portal). Screens that face the public never get it.
type Linkable struct {
	IDHash  string `json:"id_hash,omitempty"` // keyed hash of an ID number (store.IDHasher)
	Dossier string `json:"dossier,omitempty"` // a receipt's dossier code
}

// Bus fans messages out to subscribers.
type Bus struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	dropped atomic.Int64
	now     func() time.Time
}

// New returns an empty bus.
func New(now func() time.Time) *Bus {
	if now == nil {
		now = time.Now
	}
	return &Bus{subs: map[*Subscription]struct{}{}, now: now}
}

// Subscription receives the messages of its topics on C until Close.
type Subscription struct {
	C      <-chan Message
	c      chan Message
	topics map[string]bool
	bus    *Bus
	once   sync.Once
}

// Subscribe listens to the given topics (all topics when none) with a buffer of size buf.
func (b *Bus) Subscribe(buf int, topics ...string) *Subscription {
	if buf < 1 {
		buf = 64
	}
	s := &Subscription{c: make(chan Message, buf), bus: b}
	s.C = s.c
	if len(topics) > 0 {
		s.topics = map[string]bool{}
		for _, t := range topics {
			s.topics[t] = true
		}
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close stops the subscription and closes C.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		close(s.c)
		s.bus.mu.Unlock()
	})
}

// Each calls fn with every message until ctx ends or the subscription closes, then
// closes the subscription: the one loop every follower of the bus needs.
func (s *Subscription) Each(ctx context.Context, fn func(Message)) {
	defer s.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-s.C:
			if !ok {
				return
			}
			fn(m)
		}
	}
}

// Publish delivers m to every subscriber of its topic without blocking.
func (b *Bus) Publish(m Message) {
	if m.Time.IsZero() {
		m.Time = b.now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.topics != nil && !s.topics[m.Topic] {
			continue
		}
		select {
		case s.c <- m:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped is how many deliveries were lost to slow subscribers.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }
