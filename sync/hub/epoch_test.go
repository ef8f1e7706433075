package hub

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

func epochSnap(day, metric, epoch string, value, rev int64) wire.Snapshot {
	dims := map[string]string{vocab.DimService: "13"}
	if metric == vocab.GatePeakOccupancy {
		dims = map[string]string{vocab.DimHour: "09"}
	}
	return wire.Snapshot{Day: day, Metric: metric, Dims: dims, Value: value, Revision: rev, Epoch: epoch}
}

// A record replaced after 7 tickets, whose new epoch counts 5 more the same day at
// revisions the hub already holds: the hub shows 12, not 7 (the old rule), and the
// response tells the agent the hub's highest revision so it can see it went back.
func TestEpochsAddUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		secret := th.enroll(t, "NA-VH", "pc1")
		push := func(snaps ...wire.Snapshot) {
			t.Helper()
			status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, body: pushBody(t, "NA-VH", "pc1", snaps...)})
			if status != http.StatusOK {
				t.Fatalf("push: %d %+v", status, er)
			}
		}
		day := "2026-11-20"
		push(epochSnap(day, vocab.TicketsIssued, "old", 7, 7), epochSnap(day, vocab.GatePeakOccupancy, "old", 40, 7))
		push(epochSnap(day, vocab.TicketsIssued, "new", 5, 5), epochSnap(day, vocab.GatePeakOccupancy, "new", 25, 5))
		if got := th.total(t, vocab.TicketsIssued); got != 12 {
			t.Fatalf("tickets after a replaced record = %d, want 12", got)
		}
		if got := th.total(t, vocab.GatePeakOccupancy); got != 40 {
			t.Fatalf("peak over epochs = %d, want the larger, 40", got)
		}
		// The same epochs again, and an older revision of the new one: nothing changes.
		push(epochSnap(day, vocab.TicketsIssued, "new", 5, 5), epochSnap(day, vocab.TicketsIssued, "new", 3, 3))
		if got := th.total(t, vocab.TicketsIssued); got != 12 {
			t.Fatalf("after re-sends = %d, want 12", got)
		}
		// A schema-1 agent (no epoch) is still accepted and adds its own row.
		old := wire.PushRequest{Schema: 1, Site: "NA-VH", Device: "pc1", Snapshots: []wire.Snapshot{snap(day, vocab.TicketsIssued, 2, 1, "service", "13")}}
		body, _ := json.Marshal(old)
		req, _ := http.NewRequest(http.MethodPost, th.srv.URL+wire.PushPath, bytes.NewReader(body))
		if err := wire.Sign(req, "pc1", secret, body, th.now); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var pr wire.PushResponse
		json.NewDecoder(resp.Body).Decode(&pr)
		resp.Body.Close()
		if resp.StatusCode != 200 || pr.MaxRevision != 7 {
			t.Fatalf("schema 1 push: %d %+v; want 200 with max_rev 7", resp.StatusCode, pr)
		}
		if got := th.total(t, vocab.TicketsIssued); got != 14 {
			t.Fatalf("with a schema-1 row = %d, want 14", got)
		}
	})
}

// A hub database from before epochs is upgraded in place: its rows become the empty
// epoch and keep counting.
func TestHubUpgradeKeepsCounters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sql.Open("sqlite3", store.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE counters(device TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL,
		dims TEXT NOT NULL, value INTEGER NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY(device, day, metric, dims)) WITHOUT ROWID;
		CREATE TABLE devices(device TEXT PRIMARY KEY, site TEXT NOT NULL, secret TEXT NOT NULL, enrolled_at TEXT NOT NULL, revoked_at TEXT);
		INSERT INTO devices VALUES('pc1', 'S', 'x', '2026-01-01', NULL);
		INSERT INTO counters VALUES('pc1', '2026-11-20', 'tickets.issued', '{}', 9, 4);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	h, err := Open(path, Options{Now: func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rep, err := h.Totals(context.Background(), Query{Period: Period{From: "2026-11-01", To: "2026-11-30"}, Filter: Filter{Metric: "tickets.issued"}})
	if err != nil || len(rep.Rows) != 1 || rep.Rows[0].Value != 9 {
		t.Fatalf("after upgrade: %+v %v", rep, err)
	}
	var epoch string
	if err := h.rdb.QueryRow(`SELECT epoch FROM counters`).Scan(&epoch); err != nil || epoch != "" {
		t.Fatalf("epoch %q %v", epoch, err)
	}
}
