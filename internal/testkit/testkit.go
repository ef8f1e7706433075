// Package testkit is what the tests of every wing share: a settable clock (with timers
// that fire when it is moved) and the one percentile helper the benchmarks report
// with. It is imported only from _test files.
package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// Clock is a settable time source, safe for concurrent use. Its zero value reads the
// zero time; start it with NewClock. Its timers (AfterFunc) fire only when Add or Set
// moves the clock to or past their time, so code that waits on it is tested without
// sleeping.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*Timer
}

// Timer is one of a Clock's scheduled calls.
type Timer struct {
	c    *Clock
	at   time.Time
	f    func()
	done bool
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock by d and runs the timers that are then due, earliest first, in
// the caller's goroutine.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.fire() }

// Set puts the clock at t and runs the timers that are then due.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.fire() }

// fire runs the due timers (c.mu held; it unlocks).
func (c *Clock) fire() {
	var due, left []*Timer
	for _, tm := range c.timers {
		if !tm.at.After(c.t) {
			tm.done = true
			due = append(due, tm)
		} else {
			left = append(left, tm)
		}
	}
	c.timers = left
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *Timer) int { return a.at.Compare(b.at) })
	for _, tm := range due {
		tm.f()
	}
}

// AfterFunc calls f once the clock has been moved d or more past its present reading
// (at once, in this goroutine, when d <= 0). Its signature matches time.AfterFunc's use
// as an injected timer: the Timer's Stop cancels it.
func (c *Clock) AfterFunc(d time.Duration, f func()) *Timer {
	c.mu.Lock()
	tm := &Timer{c: c, at: c.t.Add(d), f: f}
	c.timers = append(c.timers, tm)
	c.fire()
	return tm
}

// Stop cancels the timer; false when it had already fired or been stopped.
func (tm *Timer) Stop() bool {
	c := tm.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if tm.done {
		return false
	}
	tm.done = true
	c.timers = slices.DeleteFunc(c.timers, func(x *Timer) bool { return x == tm })
	return true
}

// After is time.After on the clock: the channel receives the clock's reading once the
// clock has been moved d or more (a Clock stands in for an interface with
// Now and After, as the upload client's).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.AfterFunc(d, func() { ch <- c.Now() })
	return ch
}

// Next is how far the clock must move for its earliest waiting timer to be due: what
// the code under test asked to wait (false when no timer waits).
func (c *Clock) Next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	at := c.timers[0].at
	for _, tm := range c.timers[1:] {
		if tm.at.Before(at) {
			at = tm.at
		}
	}
	return at.Sub(c.t), true
}

// Timers is how many timers wait for the clock to move.
func (c *Clock) Timers() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.timers) }

// WaitTimers waits, in real time, up to within for at least n timers to be waiting,
// and reports whether they are: a test moves the clock only once the code under test
// has set its timer, or the move would pass it by.
func (c *Clock) WaitTimers(n int, within time.Duration) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(time.Millisecond) {
		if c.Timers() >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of ds: the smallest
// sample with at least p% of the samples at or below it. Zero when ds is empty. ds is
// not modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999)
	return s[max(0, min(rank, len(s))-1)]
}

// Median is Percentile(ds, 50).
func Median(ds []time.Duration) time.Duration { return Percentile(ds, 50) }

// Ms is d in milliseconds, for benchmark figures.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Fields is a message part (or any JSON-encodable value) as the event stream carries
// it: its JSON object's fields by name.
func Fields(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Buffer is a bytes.Buffer safe for a process's or a goroutine's writes while the test
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }

// String is everything written so far.
func (b *Buffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// WaitLine reads r (a process's log) until a line matches re and returns the match's
// first group, then drains r in the background so the process never blocks on its
// log. It fails the test when r ends first or no line matches within a minute.
func WaitLine(t testing.TB, r io.Reader, re *regexp.Regexp) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				io.Copy(io.Discard, r)
				return
			}
		}
		close(found)
	}()
	select {
	case s, ok := <-found:
		if !ok {
			t.Fatalf("process ended before printing %s", re)
		}
		return s
	case <-time.After(60 * time.Second):
		t.Fatalf("no line matching %s", re)
	}
	return ""
}

// Eventually polls cond every 20 ms until it holds, and fails the test with what
// (formatted with args) when it still does not after within. An argument that is a
// func() string is called then, so the message can show state read at the failure
// (a process's log). It is the tree's one way to wait for something another goroutine
// or process does.
func Eventually(t testing.TB, within time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			for i, a := range args {
				if f, ok := a.(func() string); ok {
					args[i] = f()
				}
			}
			t.Fatalf("after %v: "+what, append([]any{within}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
