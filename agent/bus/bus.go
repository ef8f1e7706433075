// Package bus carries in-process messages between flows and to the local event stream:
// a scan, a verified identity, a called ticket. Publishing never blocks: a subscriber that
// falls behind loses messages (counted), never the publisher's time.
//
// Each topic's publisher defines the types of its messages: a public part (what every
// subscriber and the event stream may see) and, separately, a personal part (a
// person's data), so whoever forwards a message drops the personal part for a receiver
// that may not see it by leaving out a field, never by picking keys.
package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Message is one published fact. Public and Personal hold the topic's own types
// (checkin.Scan and checkin.ScanPersonal on "scan", identity.Status and
// identity.Holder on "identity", queue.Change on "queue" …); Personal is nil when the
// fact carries no personal data.
type Message struct {
	Topic    string    `json:"topic"`
	Time     time.Time `json:"time"`
	Public   any       `json:"data"`
	Personal any       `json:"personal,omitempty"`
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
