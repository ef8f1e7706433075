package gate

import (
	"context"
	"reflect"
	"testing"

	"motcua-agent/agent/store"
)

var eventsAll = store.EventFilter{Limit: 1000000}

// assertOccupancyMatchesRecord checks the live occupancy against the record: it equals
// entries − exits − reconciled over every day, and every counter equals the fold of
// the events.
func assertOccupancyMatchesRecord(t *testing.T, r *rig) {
	t.Helper()
	checkRecord(t, r.st, r.g.Occupancy())
}

func checkRecord(t *testing.T, st *store.Store, occupancy int) {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Counters(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var in, out, rec int64
	for _, row := range rows {
		switch row.Metric {
		case MetricEntries:
			in += row.Value
		case MetricExits:
			out += row.Value
		case MetricReconciled:
			rec += row.Value
		}
	}
	if int64(occupancy) != in-out-rec {
		t.Fatalf("occupancy %d, but entries %d − exits %d − reconciled %d = %d", occupancy, in, out, rec, in-out-rec)
	}
	folded, err := st.Fold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(rs []store.CounterRow) []store.CounterRow {
		out := make([]store.CounterRow, len(rs))
		for i, r := range rs {
			r.Revision = 0
			out[i] = r
		}
		return out
	}
	if !reflect.DeepEqual(strip(rows), strip(folded)) {
		t.Fatalf("counters differ from the fold of events:\ncounters %v\nfold     %v", rows, folded)
	}
}
