package hub

import (
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// When pushes have waited long for the writer for a while the hub admits no more than
// its floor of pushes, whatever its count of places allows, and admits again once one
// waits less: the queue is bounded by how fast the hub is, not by a count.
func TestShedWhenAnswersAreLate(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	l := newLoadShedder(256, time.Second)
	l.now = clock.Now
	l.lastOnTime.Store(clock.Now().UnixNano())
	for range minPlaces + 50 {
		if !l.admit() {
			t.Fatal("refused under its places while answers are on time")
		}
	}
	clock.Add(slowFor + slowAfter)
	l.waited(2 * slowAfter) // late: the queue stands
	if !l.full() || l.admit() {
		t.Fatalf("admits with %d in flight and every answer late", l.inFlight.Load())
	}
	for l.inFlight.Load() >= minPlaces {
		l.leave()
	}
	if l.full() || !l.admit() {
		t.Fatal("refuses under its floor of places")
	}
	for range 20 {
		l.admit()
	}
	if l.admit() {
		t.Fatal("admits past the floor while late")
	}
	l.waited(slowAfter / 2) // one in time
	if l.full() || !l.admit() {
		t.Fatal("still refuses after an answer in time")
	}
}
