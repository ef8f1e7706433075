package hub

import (
	"testing"

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
		job := func(device, nonce string, snaps ...wire.Snapshot) *ingestJob {
			return &ingestJob{device: device, nonce: nonce, push: &wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: device, Snapshots: snaps}}
		}
		first := []*ingestJob{
			job("pc2", "n1", snap(day, "checkins", 4, 4)),
			job("pc1", "n1", snap(day, "checkins", 5, 5), snap(day, "checkins", 3, 3), snap(day, "checkins", 6, 6)),
			job("pc1", "n1", snap(day, "checkins", 9, 9)), // a copy: refused whatever it holds
			job("pc1", "n2", snap(day, "checkins", 7, 7), snap(day, "tickets.issued", 1, 7)),
		}
		res, err := th.writer.commit(first, th.now)
		if err != nil {
			t.Fatal(err)
		}
		want := []ingestResult{
			{accepted: 1, maxRevision: 4},
			{accepted: 2, ignored: 1, maxRevision: 7},
			{replay: true},
			{accepted: 2, maxRevision: 7},
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("job %d: %+v, want %+v", i, res[i], want[i])
			}
		}
		if got := th.total(t, "checkins"); got != 4+7 {
			t.Fatalf("checkins %d, want 11", got)
		}
		res, err = th.writer.commit([]*ingestJob{job("pc2", "n1", snap(day, "checkins", 8, 8)), job("pc2", "n3", snap(day, "checkins", 2, 2))}, th.now)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].replay || res[1].replay || res[1].accepted != 0 || res[1].ignored != 1 || res[1].maxRevision != 4 {
			t.Fatalf("second group: %+v", res)
		}
		var pushes int
		if err := th.rdb.QueryRow(`SELECT pushes FROM fleet WHERE device = ?`, "pc1").Scan(&pushes); err != nil || pushes != 2 {
			t.Fatalf("fleet counts %d pushes of pc1 (%v), want 2", pushes, err)
		}
	})
}
