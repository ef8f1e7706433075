package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/sync/release"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// releaseFolder is a release folder with the real keys, versions published as tiny
// linux files.
func releaseFolder(t testing.TB, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	if err := release.Init(dir, now); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		bin := filepath.Join(t.TempDir(), "agent")
		if err := os.WriteFile(bin, []byte("motcua-agent "+v), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := release.Publish(dir, v, map[release.Kind]string{release.KindLinux: bin}, now); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// simAgent is a counter PC as the hub sees it: the real upload client over an
// in-memory record, whose self-update is a state machine. An offer of a newer version
// is taken at the next step (fail says how it ends: "" commits, "rolled_back" goes on
// trial first and comes back, "refused" and "failed" never switch), and a trial ends
// at the step after. A switch of version restarts the client, as the service manager
// restarts the agent: its first push after is a plain one again.
type simAgent struct {
	site, device string
	cfg          upload.ClientConfig
	src          *memSource
	client       *upload.Client
	fail         func(device, version string) string

	mu                            sync.Mutex
	running, trial, offered, prev string
	outcome, version, reason      string
	refusedHere                   map[string]bool
	offersTouched                 int
}

func enrollSim(t testing.TB, h *Hub, site, device string) []byte {
	t.Helper()
	secret, err := h.Enroll(context.Background(), Site{Code: site, Province: "Nghệ An", Commune: "Xã " + site}, device)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := wire.ParseSecret(secret)
	return key
}

func newSimAgent(t testing.TB, hubURL, site, device string, key []byte, tr http.RoundTripper) *simAgent {
	t.Helper()
	a := &simAgent{site: site, device: device, running: "1.0.0", refusedHere: map[string]bool{}, src: newMemSource()}
	a.cfg = upload.ClientConfig{HubURL: hubURL, Site: site, Device: device, Secret: key, Version: "1.0.0",
		Transport: tr, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Steering: func() (*wire.ConfigState, *wire.UpdateState) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return nil, &wire.UpdateState{Running: a.running, Trial: a.trial, Outcome: a.outcome, Version: a.version, Reason: a.reason}
		},
		OnSteer: func(_ *wire.ConfigOffer, r *wire.ReleaseOffer) {
			if r != nil {
				a.mu.Lock()
				a.offered = r.Version
				a.offersTouched++
				a.mu.Unlock()
			}
		},
	}
	a.restart(t)
	return a
}

// restart starts the agent's process again, running a.running.
func (a *simAgent) restart(t testing.TB) {
	cfg := a.cfg
	cfg.Version = a.running
	c, err := upload.NewClient(cfg, a.src)
	if err != nil {
		t.Fatal(err)
	}
	a.client = c
}

// push is one push; the offer it brings (if any) is kept for step.
func (a *simAgent) push(ctx context.Context) error {
	a.mu.Lock()
	a.offered = ""
	c := a.client
	a.mu.Unlock()
	return c.PushNow(ctx)
}

// step is what the agent does between pushes: finish a trial, or take the offer.
func (a *simAgent) step(t testing.TB) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.trial != "" {
		v := a.trial
		a.trial = ""
		if a.fail != nil && a.fail(a.device, v) == "rolled_back" {
			a.running, a.outcome, a.version, a.reason = a.prev, "rolled_back", v, "not healthy within 10m0s"
			a.refusedHere[v] = true
			a.restart(t)
			return
		}
		a.outcome, a.version, a.reason = "committed", v, ""
		return
	}
	if a.offered == "" || a.refusedHere[a.offered] || release.CompareVersions(a.offered, a.running) <= 0 {
		return
	}
	v := a.offered
	how := ""
	if a.fail != nil {
		how = a.fail(a.device, v)
	}
	switch how {
	case "refused", "failed":
		a.outcome, a.version, a.reason = how, v, "injected "+how
		return
	}
	a.prev = a.running
	a.running, a.trial = v, v
	a.restart(t)
}

func (a *simAgent) state() (running, trial string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running, a.trial
}

type simFleetRollout struct {
	agents []*simAgent
}

// round pushes every agent once (conc at a time) and steps each.
func (f *simFleetRollout) round(t testing.TB, conc int) {
	t.Helper()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, a := range f.agents {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			for range 50 { // a shed push (503 busy) is tried again, as the client's loop would
				if err = a.push(context.Background()); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, fmt.Errorf("%s: %w", a.device, err))
				mu.Unlock()
				return
			}
			a.step(t)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (f *simFleetRollout) running() map[string]int {
	out := map[string]int{}
	for _, a := range f.agents {
		r, _ := a.state()
		out[r]++
	}
	return out
}

func startRolloutHub(t *testing.T, releases string) (*testHub, *simFleetRollout) {
	th := startHub(t, func(o *Options) { o.Now, o.Releases = time.Now, releases })
	f := &simFleetRollout{}
	for i := range 200 {
		site, device := fmt.Sprintf("xa-%02d", i%10), fmt.Sprintf("pc-%03d", i)
		f.agents = append(f.agents, newSimAgent(t, th.srv.URL, site, device, enrollSim(t, th.Hub, site, device), nil))
	}
	return th, f
}

func TestRolloutStagesAndOffers(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		th, f := startRolloutHub(t, releaseFolder(t, "2.0.0"))
		if _, err := th.StartRollout(ctx, RolloutSpec{Release: "9.9.9", Canary: []string{"xa-00"}}); !errors.Is(err, ErrNotPublished) {
			t.Fatalf("a version not in the signed repository: %v", err)
		}
		// One PC already runs a newer version: it is never offered an older one.
		f.agents[5].running = "3.0.0"
		f.agents[5].restart(t)
		f.round(t, 16) // the first answer says the hub speaks schema 4
		f.round(t, 16)
		if got := f.running()["2.0.0"]; got != 0 {
			t.Fatalf("%d agents updated with no rollout", got)
		}
		if _, err := th.StartRollout(ctx, RolloutSpec{Release: "2.0.0", Canary: []string{"xa-00"}}); err != nil {
			t.Fatal(err)
		}
		f.round(t, 16) // offers
		f.round(t, 16) // on trial
		f.round(t, 16) // committed
		for _, a := range f.agents {
			r, _ := a.state()
			if want := map[bool]string{true: "2.0.0", false: "1.0.0"}[a.site == "xa-00"]; r != want && a != f.agents[5] {
				t.Fatalf("canary stage: %s at %s runs %s, want %s", a.device, a.site, r, want)
			}
		}
		r, err := th.AdvanceRollout(ctx, 30)
		if err != nil {
			t.Fatal(err)
		}
		f.round(t, 16)
		f.round(t, 16)
		f.round(t, 16)
		outside, updated := 0, 0
		for _, a := range f.agents {
			if a.site == "xa-00" || a == f.agents[5] {
				continue
			}
			outside++
			if run, _ := a.state(); run == "2.0.0" {
				updated++
			}
		}
		// 180 PCs outside the canary, 30 % of them by a hash: far from 0 and from all.
		if updated < 30 || updated > 80 {
			t.Fatalf("stage 30%%: %d of %d PCs outside the canary updated", updated, outside)
		}
		if run, _ := f.agents[5].state(); run != "3.0.0" {
			t.Fatalf("a PC running a newer version was moved to %s", run)
		}
		r, err = th.rolloutByID(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Counts.Committed != 20+updated || r.Counts.Offered != r.Counts.Committed || len(r.Stages) != 2 || r.State != RolloutRunning {
			t.Fatalf("rollout after two stages: %+v", r)
		}
		// The stage is stable: pushing again moves nobody else.
		f.round(t, 16)
		f.round(t, 16)
		if got := f.running()["2.0.0"]; got != 20+updated {
			t.Fatalf("after more pushes at the same stage: %d on 2.0.0, want %d", got, 20+updated)
		}
		if _, err := th.AdvanceRollout(ctx, 20); !errors.Is(err, ErrRolloutBackward) {
			t.Fatalf("advance to a smaller stage: %v", err)
		}
		if _, err := th.AdvanceRollout(ctx, 100); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			f.round(t, 16)
		}
		if got := f.running(); got["2.0.0"] != 199 || got["3.0.0"] != 1 {
			t.Fatalf("at 100%%: %v", got)
		}
	})
}

func TestRolloutHaltsOnFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		th, f := startRolloutHub(t, releaseFolder(t, "2.0.0"))
		// A third of the PCs cannot run 2.0.0: its trial rolls back.
		for i, a := range f.agents {
			if i%3 == 0 {
				a.fail = func(string, string) string { return "rolled_back" }
			}
		}
		f.round(t, 16)
		if _, err := th.StartRollout(ctx, RolloutSpec{Release: "2.0.0", Percent: 100, HaltAt: 0.1, MinSample: 30}); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			f.round(t, 16)
		}
		rs, err := th.Rollouts(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if r.State != RolloutHalted || !strings.Contains(r.Reason, "rolled back") || r.Counts.RolledBack == 0 {
			t.Fatalf("after a third rolled back: %+v", r)
		}
		// Halted: nothing more is offered; who committed stays; everyone runs a version.
		before := f.running()
		for _, a := range f.agents {
			a.mu.Lock()
			a.offersTouched = 0
			a.mu.Unlock()
		}
		f.round(t, 16)
		f.round(t, 16)
		for _, a := range f.agents {
			if a.offersTouched != 0 {
				t.Fatalf("%s was offered a release by a halted rollout", a.device)
			}
		}
		if after := f.running(); after["2.0.0"] != before["2.0.0"] || after["1.0.0"]+after["2.0.0"] != 200 {
			t.Fatalf("halted rollout: before %v, after %v", before, after)
		}
		if _, err := th.AdvanceRollout(ctx, 100); !errors.Is(err, ErrRolloutHalted) {
			t.Fatalf("advance while halted: %v", err)
		}
		if _, err := th.ResumeRollout(ctx, 0.5); err != nil {
			t.Fatal(err)
		}
		f.round(t, 16)
		if got, _ := th.Rollouts(ctx, 1); got[0].State != RolloutRunning {
			t.Fatalf("resumed with a higher threshold: %+v", got[0])
		}
	})
}

// A repository whose targets.json no longer verifies (altered on the hub) publishes
// nothing: the running rollout stops offering.
func TestRolloutOffersOnlyWhatTheRepositorySigns(t *testing.T) {
	ctx := context.Background()
	dir := releaseFolder(t, "2.0.0")
	th := startHub(t, func(o *Options) { o.Now, o.Releases = time.Now, dir })
	a := newSimAgent(t, th.srv.URL, "xa-00", "pc-000", enrollSim(t, th.Hub, "xa-00", "pc-000"), nil)
	f := &simFleetRollout{agents: []*simAgent{a}}
	f.round(t, 1)
	if _, err := th.StartRollout(ctx, RolloutSpec{Release: "2.0.0", Canary: []string{"xa-00"}}); err != nil {
		t.Fatal(err)
	}
	targets := filepath.Join(dir, release.RepositoryDir, "targets.json")
	raw, _ := os.ReadFile(targets)
	if err := os.WriteFile(targets, []byte(strings.Replace(string(raw), `"2.0.0"`, `"2.0.1"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	th.releases.checked = time.Time{}
	f.round(t, 1)
	if a.offersTouched != 0 {
		t.Fatal("offered a release from a targets.json that does not verify")
	}
}

func TestCohortIsStableAndSpread(t *testing.T) {
	in := 0
	for i := range 10000 {
		d := fmt.Sprintf("pc-%05d", i)
		c := cohortOf(7, d)
		if c != cohortOf(7, d) || c < 0 || c >= 10000 {
			t.Fatalf("cohort of %s: %d", d, c)
		}
		if c < bp(10) {
			in++
		}
	}
	if in < 900 || in > 1100 {
		t.Fatalf("10%% stage holds %d of 10000 devices", in)
	}
	if cohortOf(7, "pc-1") == cohortOf(8, "pc-1") && cohortOf(7, "pc-2") == cohortOf(8, "pc-2") {
		t.Fatal("two rollouts give the same cohorts")
	}
}
