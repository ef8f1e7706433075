package testkit

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} // 1..10
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {95, 10}, {99, 10}, {100, 10}, {10, 1}, {1, 1}, {51, 6}} {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%g = %d, want %d", tc.p, got, tc.want)
		}
	}
	if ds[0] != 5 {
		t.Error("Percentile sorted its input")
	}
	if Percentile(nil, 50) != 0 || Median([]time.Duration{7}) != 7 {
		t.Error("edge cases")
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Add(time.Minute)
	if !c.Now().Equal(t0.Add(time.Minute)) {
		t.Fatal(c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal(c.Now())
	}
}

func TestClockTimers(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	var fired []string
	c.AfterFunc(2*time.Minute, func() { fired = append(fired, "b") })
	c.AfterFunc(time.Minute, func() { fired = append(fired, "a") })
	stopped := c.AfterFunc(90*time.Second, func() { fired = append(fired, "stopped") })
	if !stopped.Stop() || stopped.Stop() || c.Timers() != 2 {
		t.Fatal("Stop")
	}
	c.Add(59 * time.Second)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	c.Add(2 * time.Minute)
	if len(fired) != 2 || fired[0] != "a" || fired[1] != "b" || c.Timers() != 0 {
		t.Fatalf("fired %v, %d left", fired, c.Timers())
	}
	c.AfterFunc(0, func() { fired = append(fired, "now") })
	if fired[2] != "now" || !c.WaitTimers(0, 0) || c.WaitTimers(1, time.Millisecond) {
		t.Fatalf("fired %v", fired)
	}
}

// After stands in for time.After: its channel fills when the clock is moved far
// enough, and Next says how far that is.
func TestClockAfterAndNext(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if _, ok := c.Next(); ok {
		t.Fatal("Next with no timer")
	}
	ch := c.After(90 * time.Second)
	c.After(5 * time.Minute)
	if d, ok := c.Next(); !ok || d != 90*time.Second {
		t.Fatalf("Next = %s %v", d, ok)
	}
	c.Add(time.Minute)
	if d, _ := c.Next(); d != 30*time.Second {
		t.Fatalf("Next after a minute = %s", d)
	}
	select {
	case <-ch:
		t.Fatal("After fired early")
	default:
	}
	c.Add(30 * time.Second)
	if at := <-ch; !at.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("After delivered %s", at)
	}
	if d, _ := c.Next(); d != 3*time.Minute+30*time.Second {
		t.Fatalf("Next after the first fired = %s", d)
	}
}
