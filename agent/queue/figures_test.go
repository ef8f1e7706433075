package queue

import (
	"context"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config/vocab"
)

// TestOlderRecordKeepsReading: a day an older agent recorded (waits under the service
// alone, no first calls, recalls, transfers or cancels counted) still reads: its
// average wait from served and absent, its cancellations from the tickets.
func TestOlderRecordKeepsReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, c, st := newTestQueue(t)
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 8, min, 0, 0, ict) }
	for _, e := range []store.Event{
		{Kind: KindIssued, Time: at(0), Service: "A", Attrs: store.AttrsOf(map[string]any{"number": 1001}),
			Counts: []store.Count{{Metric: MetricIssued, Dims: map[string]string{"service": "A"}, Value: 1}}},
		{Kind: KindIssued, Time: at(1), Service: "A", Attrs: store.AttrsOf(map[string]any{"number": 1002}),
			Counts: []store.Count{{Metric: MetricIssued, Dims: map[string]string{"service": "A"}, Value: 1}}},
		{Kind: KindCalled, Time: at(3), Service: "A", Counter: "1", Attrs: store.AttrsOf(map[string]any{"number": 1001}),
			Counts: []store.Count{{Metric: MetricWaitSeconds, Dims: map[string]string{"service": "A"}, Value: 180}}},
		{Kind: KindFinished, Time: at(8), Service: "A", Counter: "1", Attrs: store.AttrsOf(map[string]any{"number": 1001}),
			Counts: []store.Count{{Metric: MetricServed, Dims: map[string]string{"service": "A", "counter": "1"}, Value: 1},
				{Metric: MetricServiceSeconds, Dims: map[string]string{"service": "A", "counter": "1"}, Value: 300}}},
		{Kind: KindCancelled, Time: at(9), Service: "A", Attrs: store.AttrsOf(map[string]any{"number": 1002})},
	} {
		e.Site = "test"
		if _, err := st.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	c.Set(time.Date(2026, 3, 2, 8, 0, 0, 0, ict))
	s, err := q.Stats(ctx, "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	if s.Total.Issued != 2 || s.Total.Served != 1 || s.Total.Cancelled != 1 || s.Total.AvgWaitSec != 180 ||
		s.Total.Say(vocab.FigureAvgWait) != "3 phút" || s.Total.Say(vocab.FigureAvgService) != "5 phút" {
		t.Errorf("an older day: %+v", s.Total)
	}
	rep, err := q.monthReport(ctx, "2026-03-01")
	if err != nil {
		t.Fatal(err)
	}
	if want := "<title>ngày 01/03: 3,0</title>"; !strings.Contains(rep.Charts[1].SVG, want) {
		t.Errorf("30-day chart of an older day: want %s", want)
	}
}
