package hub

import (
	"testing"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// One group holding two copies of a request, two pushes of one device that carry the
// same counters, a counter twice in one push and a replay of an earlier group: stored
// as if the pushes came one by one, each copy once.
func TestGroupCommitAsOneByOne(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		th.enroll(t, "S1", "pc1")
		th.enroll(t, "S1", "pc2")
		day := "2026-11-22"
		job := func(device, nonce string, snaps ...wire.Snapshot) *store.Job {
			return store.NewJob(device, "", nonce, &wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: device, Snapshots: snaps})
		}
		first := []*store.Job{
			job("pc2", "n1", snap(day, "checkins", 4, 4)),
			job("pc1", "n1", snap(day, "checkins", 5, 5), snap(day, "checkins", 3, 3), snap(day, "checkins", 6, 6)),
			job("pc1", "n1", snap(day, "checkins", 9, 9)), // a copy: refused whatever it holds
			job("pc1", "n2", snap(day, "checkins", 7, 7), snap(day, "tickets.issued", 1, 7)),
		}
		res, err := th.store.Commit(first, th.now)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Result{
			{Accepted: 1, MaxRevision: 4},
			{Accepted: 2, Ignored: 1, MaxRevision: 7},
			{Replay: true},
			{Accepted: 2, MaxRevision: 7},
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("job %d: %+v, want %+v", i, res[i], want[i])
			}
		}
		if got := th.total(t, "checkins"); got != 4+7 {
			t.Fatalf("checkins %d, want 11", got)
		}
		res, err = th.store.Commit([]*store.Job{job("pc2", "n1", snap(day, "checkins", 8, 8)), job("pc2", "n3", snap(day, "checkins", 2, 2))}, th.now)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Replay || res[1].Replay || res[1].Accepted != 0 || res[1].Ignored != 1 || res[1].MaxRevision != 4 {
			t.Fatalf("second group: %+v", res)
		}
		var pushes int
		if err := th.rdb.QueryRow(`SELECT pushes FROM fleet WHERE device = ?`, "pc1").Scan(&pushes); err != nil || pushes != 2 {
			t.Fatalf("fleet counts %d pushes of pc1 (%v), want 2", pushes, err)
		}
	})
}
