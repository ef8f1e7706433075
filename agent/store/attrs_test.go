package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
)

// A kind's struct reads the attributes an older agent wrote as a map under the same
// keys (numbers as JSON numbers, keys it does not name ignored), and writes them back
// as one JSON object the record keeps as it came; none is NULL, as before.
func TestAttrsReadOlderRowsAndKeepTheirObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	type issued struct {
		Number   int  `json:"number"`
		Priority bool `json:"priority"`
	}
	// A row as the map-writing agent left it, inserted raw.
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO events(time_ns, day, boot, kind, site, counter, service, attrs, counts)
			VALUES(1, '2026-03-02', 'b', 'queue.ticket.issued', 's', '', 'A', '{"number":1001,"priority":true,"extra":[1]}', NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, Event{Kind: "queue.ticket.issued", Attrs: AttrsOf(issued{1002, false})}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, Event{Kind: "queue.counter.paused", Attrs: AttrsOf(struct{}{})}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, EventFilter{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("events %v %v", evs, err)
	}
	var old, now issued
	if err := evs[0].Attrs.Decode(&old); err != nil || old != (issued{1001, true}) {
		t.Errorf("older row read as %+v (%v)", old, err)
	}
	if err := evs[1].Attrs.Decode(&now); err != nil || now != (issued{1002, false}) || evs[1].Attrs.String() != `{"number":1002,"priority":false}` {
		t.Errorf("new row %s read as %+v (%v)", evs[1].Attrs, now, err)
	}
	var null sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT attrs FROM events WHERE seq = ?`, evs[2].Seq).Scan(&null); err != nil || null.Valid || !evs[2].Attrs.IsZero() {
		t.Errorf("empty attributes stored as %+v (%v)", null, err)
	}
	// As `motcua-agent events --json` prints them: the object itself, none left out.
	b, _ := json.Marshal(evs[0])
	var back struct{ Attrs map[string]any }
	if err := json.Unmarshal(b, &back); err != nil || back.Attrs["number"] != 1001.0 || back.Attrs["priority"] != true {
		t.Errorf("event as JSON: %s (%v)", b, err)
	}
	if b, _ := json.Marshal(evs[2]); containsKey(b, "attrs") {
		t.Errorf("an event without attributes printed them: %s", b)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"attrs":[1,2]}`), &e); err == nil {
		t.Error("attributes that are not an object were read")
	}
}

func containsKey(b []byte, key string) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	_, ok := m[key]
	return ok
}
