package hub

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"motcua-agent/sync/wire"
)

// Shedding: past its capacity the hub answers 503 busy with Retry-After at once,
// instead of letting every push wait behind the others until none is answered in time.
// A push whose body has arrived is admitted when fewer than MaxPushesInFlight are
// between their body and their answer (a client that sends no body holds no place); an
// admitted push waits at most QueueWait for a place in the writer's queue. A refusal
// costs the hub the read of a body, no signature check, no decoding.

// DefaultMaxPushesInFlight bounds the pushes the hub works on at once: about a fifth
// of a second of its capacity on the 2-core machine (see the README's overload table),
// so an admitted push is answered well within a second when the writer keeps up.
const DefaultMaxPushesInFlight = 256

// DefaultQueueWait is how long an admitted push may wait for the writer's queue.
const DefaultQueueWait = 2 * time.Second

type loadShedder struct {
	inFlight  atomic.Int64
	max       int64
	queueWait time.Duration
}

func newLoadShedder(max int, queueWait time.Duration) *loadShedder {
	if max <= 0 {
		max = DefaultMaxPushesInFlight
	}
	if queueWait <= 0 {
		queueWait = DefaultQueueWait
	}
	return &loadShedder{max: int64(max), queueWait: queueWait}
}

func (l *loadShedder) admit() bool {
	if l.inFlight.Add(1) > l.max {
		l.inFlight.Add(-1)
		return false
	}
	return true
}

func (l *loadShedder) leave() { l.inFlight.Add(-1) }

// retryAfter is the Retry-After of a 503: a few seconds, spread, when busy (agents that
// were shed together do not come back together); half a minute when the database failed.
func retryAfter(code string) string {
	if code == wire.CodeBusy {
		return strconv.Itoa(2 + rand.IntN(7))
	}
	return "30"
}
