package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/config/vocab"
)

// TestTallyFoldsOneDay: a day's counters read back through Tally: totals over metrics
// and dimensions, per-dimension totals, a peak as the largest row; another day's rows
// are not in it.
func TestTallyFoldsOneDay(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 12, 2, 9, 0, 0, 0, st.Location())
	add := func(at time.Time, counts ...Count) {
		t.Helper()
		if _, err := st.Append(ctx, Event{Time: at, Kind: "test", Site: "s", Counts: counts}); err != nil {
			t.Fatal(err)
		}
	}
	add(day, Count{Metric: vocab.GateEntries, Op: OpAdd, Value: 2, Dims: map[string]string{"hour": "09"}},
		Count{Metric: vocab.GateExits, Op: OpAdd, Value: 1, Dims: map[string]string{"hour": "09"}})
	add(day.Add(time.Hour), Count{Metric: vocab.GateEntries, Op: OpAdd, Value: 3, Dims: map[string]string{"hour": "10"}},
		Count{Metric: vocab.GatePeakOccupancy, Op: OpMax, Value: 7, Dims: map[string]string{"hour": "10"}})
	add(day.Add(2*time.Hour), Count{Metric: vocab.GatePeakOccupancy, Op: OpMax, Value: 4, Dims: map[string]string{"hour": "11"}})
	add(day.AddDate(0, 0, 1), Count{Metric: vocab.GateEntries, Op: OpAdd, Value: 100, Dims: map[string]string{"hour": "09"}})

	tl, err := st.TallyDay(ctx, day.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tl.Day != "2026-12-02" || tl.Total(vocab.GateEntries) != 5 || tl.Total(vocab.GateEntries, vocab.GateExits) != 6 || tl.Total("none") != 0 || tl.Peak(vocab.GatePeakOccupancy) != 7 {
		t.Fatalf("tally %s: a=%d a+b=%d peak=%d", tl.Day, tl.Total(vocab.GateEntries), tl.Total(vocab.GateEntries, vocab.GateExits), tl.Peak(vocab.GatePeakOccupancy))
	}
	if by := tl.By("hour", vocab.GateEntries, vocab.GateExits); len(by) != 2 || by["09"] != 3 || by["10"] != 3 {
		t.Fatalf("by hour %v", by)
	}
}
