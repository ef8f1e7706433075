package hub

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// Shedding: past its capacity the hub answers 503 busy with Retry-After at once,
// instead of letting every push wait behind the others until none is answered in time.
//
// A push is refused before its body is read when the hub is full: a refusal then costs
// the headers' parse and a short answer (the connection is closed, its body unread),
// not the body, the signature, the decompression and the decoding of a push that would
// be thrown away. A push whose body has arrived is admitted while fewer than
// MaxPushesInFlight are between their body and their answer (a client that sends no
// body holds no place), and while the writer keeps pace: when no push has waited less
// than slowAfter in the writer's queue for slowFor, a queue stands in front of the
// database, and new pushes are shed past a floor of minPlaces (a full group waiting for
// the writer, so that it never idles and a hub whose database is merely slow still
// works) until one waits less again (CoDel's idea: the
// time waited, not the count waiting, says the hub is behind); this bounds the wait by
// the measured service rate, whatever it is, rather than by a count sized on one
// machine. An admitted push waits at most QueueWait for the writer's queue.

// DefaultMaxPushesInFlight bounds the pushes the hub works on at once: about a fifth
// of a second of its capacity on the 2-core machine (see the README's overload table),
// so an admitted push is answered well within a second when the writer keeps up.
const DefaultMaxPushesInFlight = 256

// DefaultQueueWait is how long an admitted push may wait for the writer's queue.
const DefaultQueueWait = 2 * time.Second

const (
	slowAfter = 500 * time.Millisecond // a wait in the writer's queue longer than this is late
	slowFor   = time.Second            // how long only late pushes mean the queue stands
	minPlaces = store.MaxGroup         // pushes admitted however late: a full group for the writer
)

type loadShedder struct {
	inFlight   atomic.Int64
	max        int64
	queueWait  time.Duration
	lastOnTime atomic.Int64 // Unix nanoseconds: the last push that waited less than slowAfter for the writer
	now        func() time.Time
}

func newLoadShedder(max int, queueWait time.Duration) *loadShedder {
	if max <= 0 {
		max = DefaultMaxPushesInFlight
	}
	if queueWait <= 0 {
		queueWait = DefaultQueueWait
	}
	l := &loadShedder{max: int64(max), queueWait: queueWait, now: time.Now}
	l.lastOnTime.Store(time.Now().UnixNano())
	return l
}

// behind says whether pushes have waited late for slowFor, with n (more than
// minPlaces) pushes in flight.
func (l *loadShedder) behind(n int64) bool {
	return n > minPlaces && l.now().Sub(time.Unix(0, l.lastOnTime.Load())) > slowFor
}

// full says whether a push arriving now would be shed: checked before its body is read.
func (l *loadShedder) full() bool {
	n := l.inFlight.Load()
	return n >= l.max || l.behind(n+1)
}

func (l *loadShedder) admit() bool {
	if n := l.inFlight.Add(1); n > l.max || l.behind(n) {
		l.inFlight.Add(-1)
		return false
	}
	return true
}

func (l *loadShedder) leave() { l.inFlight.Add(-1) }

// waited notes how long a push waited in the writer's queue.
func (l *loadShedder) waited(d time.Duration) {
	if d < slowAfter {
		l.lastOnTime.Store(l.now().UnixNano())
	}
}

// busyRefusal is the answer to a push shed past capacity.
func busyRefusal() *pushError {
	return refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub is at capacity; retry after the time in Retry-After")
}

// retryAfter is the Retry-After of a 503: a few seconds, spread, when busy (agents that
// were shed together do not come back together); half a minute when the database failed.
func retryAfter(code string) string {
	if code == wire.CodeBusy {
		return strconv.Itoa(2 + rand.IntN(7))
	}
	return "30"
}

// overBudgetRefusal is the answer to a push past a row budget.
func overBudgetRefusal() *pushError {
	return refuse(http.StatusTooManyRequests, wire.CodeOverBudget,
		"this device or its site holds as many distinct rows as the hub allows; the push was not stored (ask the provincial IT team)")
}
