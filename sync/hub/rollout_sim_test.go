package hub

import (
	"context"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestRolloutSimulation is a province of 5,000 counter PCs at 100 sites, each the real
// upload client speaking the wire to a real hub over loopback HTTP on SQLite, through
// a rollout in stages: two canary sites, 10 %, 50 %. From the 50 % stage on, a fifth of
// the PCs cannot run 2.0.0 (injected: their trial rolls back), and the hub halts the
// rollout by itself. The province then rolls a fixed 2.0.1 out to everyone at once. At
// the end every PC runs 2.0.1, none is left on trial or without a version, and the
// hub's counts of each rollout match what the PCs did. It prints pushes per second
// with and without a rollout (the same rounds, the same command: a ratio, since the
// machine is shared), the time each stage took to settle and when the halt fired.
//
// go test ./sync/hub -run TestRolloutSimulation -v (skipped under -short).
func TestRolloutSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 simulated agents: not under -short")
	}
	const n = 5000
	ctx := context.Background()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "hub.db"), filepath.Join(dir, "hub.key")
	fleet := enrollFleet(t, db, key, n)
	rel := releaseFolder(t, "2.0.0", "2.0.1")
	h, err := Open(db, Options{KeyFile: key, Releases: rel})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	url := "http://" + serveReal(t, h)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	var injecting atomic.Bool
	fail := func(device, version string) string {
		if version == "2.0.0" && injecting.Load() && cohortOf(-1, device)%5 == 0 {
			return "rolled_back"
		}
		return ""
	}
	f := &simFleetRollout{}
	for _, d := range fleet.devices {
		a := newSimAgent(t, url, d.site, d.name, d.secret, tr)
		a.fail = fail
		f.agents = append(f.agents, a)
	}
	rounds, pushes := 0, 0
	var pushTime time.Duration
	timedRound := func() {
		start := time.Now()
		f.round(t, 64)
		pushTime += time.Since(start)
		rounds++
		pushes += n
	}
	// Baseline: the same pushes with no rollout (the first teaches each client schema 4).
	timedRound()
	start := time.Now()
	for range 2 {
		f.round(t, 64)
	}
	plain := float64(2*n) / time.Since(start).Seconds()
	pushTime, pushes = 0, 0

	// settle pushes rounds until the current rollout has nobody waiting or on trial (or
	// it halted), and says how long that took and how many rounds.
	settle := func(stage string) *Rollout {
		t.Helper()
		begin := time.Now()
		for i := 1; ; i++ {
			timedRound()
			rs, err := h.Rollouts(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if (r.Counts.Waiting == 0 && r.Counts.Trial == 0 && i > 1) || r.State == RolloutHalted {
				t.Logf("stage %-8s settled in %d rounds, %s: offered %d, committed %d, rolled back %d; rollout %s",
					stage, i, time.Since(begin).Round(time.Millisecond), r.Counts.Offered, r.Counts.Committed, r.Counts.RolledBack, r.State)
				return &r
			}
			if i == 8 {
				t.Fatalf("stage %s never settled: %+v", stage, r)
			}
		}
	}
	if _, err := h.StartRollout(ctx, RolloutSpec{Release: "2.0.0", Canary: []string{"xa-000", "xa-001"}, HaltAt: 0.05, MinSample: 20}); err != nil {
		t.Fatal(err)
	}
	if r := settle("canary"); r.Counts.Committed != 100 || r.State != RolloutRunning {
		t.Fatalf("canary: %+v", r)
	}
	if _, err := h.AdvanceRollout(ctx, 10); err != nil {
		t.Fatal(err)
	}
	r10 := settle("10%")
	if r10.State != RolloutRunning || r10.Counts.Committed < 500 || r10.Counts.Committed > 700 {
		t.Fatalf("10%%: %+v", r10)
	}
	if _, err := h.AdvanceRollout(ctx, 50); err != nil {
		t.Fatal(err)
	}
	injecting.Store(true)
	r50 := settle("50%")
	if r50.State != RolloutHalted || r50.Counts.RolledBack == 0 {
		t.Fatalf("50%% with a fifth failing: %+v", r50)
	}
	t.Logf("halt fired %s into the 50%% stage: %s", r50.Changed.Sub(r50.Stages[len(r50.Stages)-1].At).Round(time.Millisecond), r50.Reason)
	// Halted: a few more rounds change nobody's version, and the trials underway end.
	before := f.running()
	for range 2 {
		timedRound()
	}
	after := f.running()
	if after["2.0.0"] > before["2.0.0"] {
		t.Fatalf("a halted rollout moved PCs to 2.0.0: %v -> %v", before, after)
	}
	halted, _ := h.Rollouts(ctx, 1)
	t.Logf("after the halt: %v; hub counts %+v", after, halted[0].Counts)

	// The fix goes to everyone, including the PCs that rolled 2.0.0 back.
	if _, err := h.StartRollout(ctx, RolloutSpec{Release: "2.0.1", Percent: 100, HaltAt: 0.05, MinSample: 20}); err != nil {
		t.Fatal(err)
	}
	fix := settle("100% (2.0.1)")
	if fix.State != RolloutRunning || fix.Counts.Committed != n || fix.Counts.Failures() != 0 {
		t.Fatalf("2.0.1 to everyone: %+v", fix)
	}
	timedRound() // every PC's heartbeat at its final version
	if got := f.running(); got["2.0.1"] != n {
		t.Fatalf("at the end: %v, want all %d on 2.0.1", got, n)
	}
	rolledBack := 0
	for _, a := range f.agents {
		if run, trial := a.state(); run == "" || trial != "" {
			t.Fatalf("%s ends running %q, trial %q", a.device, run, trial)
		}
		if a.refusedHere["2.0.0"] {
			rolledBack++
		}
	}
	first, _ := h.Rollouts(ctx, 0)
	if got := first[len(first)-1].Counts.RolledBack; got != rolledBack {
		t.Fatalf("the hub counted %d rollbacks of 2.0.0, the PCs did %d", got, rolledBack)
	}
	var wrong int
	if err := h.rdb.QueryRow(`SELECT count(*) FROM fleet WHERE version != '2.0.1'`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("the fleet table shows %d PCs not on 2.0.1 (%v)", wrong, err)
	}
	during := float64(pushes) / pushTime.Seconds()
	// The baseline again once the rollouts are over (no current rollout), on the grown
	// database: the two baselines bracket the rollout's rounds.
	if _, err := h.db.Exec(`UPDATE rollouts SET state = 'replaced'`); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for range 2 {
		f.round(t, 64)
	}
	plainAfter := float64(2*n) / time.Since(start).Seconds()
	t.Logf("%d agents, %d rounds with a rollout: %.0f pushes/s; no rollout: %.0f pushes/s before, %.0f after (ratio %.2f to their mean). Shared 2-core machine: compare the ratio, not the figures.",
		n, rounds, during, plain, plainAfter, during/((plain+plainAfter)/2))
}
