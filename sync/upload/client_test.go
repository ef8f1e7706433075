package upload_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/internal/faultproxy"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
	"motcua-agent/sync/internal/sqlsource"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// TestMain lets the test binary play an agent process that the exactly-once test
// starts and SIGKILLs.
func TestMain(m *testing.M) {
	if os.Getenv("MOTCUA_SYNC_TEST_AGENT") == "1" {
		os.Exit(runChildAgent())
	}
	os.Exit(m.Run())
}

type hubUnderTest struct {
	*hub.Hub
	URL string
	srv *httptest.Server
}

func startHub(t testing.TB, now func() time.Time) *hubUnderTest {
	t.Helper()
	h, err := hub.Open(filepath.Join(t.TempDir(), "hub.db"), hub.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &hubUnderTest{Hub: h, URL: srv.URL, srv: srv}
}

func (h *hubUnderTest) enroll(t testing.TB, site, device string) []byte {
	t.Helper()
	secret, err := h.Enroll(context.Background(), hub.Site{Code: site, Province: "Nghệ An", Commune: "Xã " + site}, device)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentTotals reads the hub's rows of one device keyed like sqlsource.All.
func (h *hubUnderTest) agentTotals(t testing.TB, device string) map[string]int64 {
	t.Helper()
	rep, err := h.Totals(context.Background(), hub.Query{Period: hub.Period{From: "2000-01-01", To: "2100-01-01"},
		By: []string{"device", "day", "metric", "dims"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rep.Rows {
		if r.Keys[0] == device {
			out[r.Keys[1]+"|"+r.Keys[2]+"|"+r.Keys[3]] = r.Value
		}
	}
	return out
}

func openSource(t testing.TB, path string) *sqlsource.Source {
	t.Helper()
	src, err := sqlsource.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func sameCounters(t testing.TB, what string, want, got map[string]int64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the agent has no counters; the test proves nothing", what)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s: hub %d, agent %d", what, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s: hub has %d, the agent has no such row", what, k, v)
		}
	}
}

var metrics = []string{"tickets.issued", "checkins", "dossiers.received", "dossiers.digitized", "identity.verifications"}

// randomChange is one event's worth of counting at a busy counter.
func randomChange(rng *rand.Rand, day string) sqlsource.Change {
	// The dims each metric has in the vocabulary (the hub refuses others).
	metric := metrics[rng.IntN(len(metrics))]
	dims := map[string]string{"counter": "Q" + strconv.Itoa(1+rng.IntN(3))}
	switch metric {
	case "checkins", "identity.verifications":
		if rng.IntN(2) == 0 {
			dims["outcome"] = "ok"
		}
	default:
		dims["service"] = strconv.Itoa(1 + rng.IntN(25))
	}
	return sqlsource.Change{Day: day, Metric: metric, Dims: dims, Delta: 1 + rng.Int64N(3)}
}

func newClient(t testing.TB, cfg upload.ClientConfig, src upload.Source) *upload.Client {
	t.Helper()
	c, err := upload.NewClient(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// --- exactly once under faults and SIGKILLs ---

func runChildAgent() int {
	src, err := sqlsource.Open(os.Getenv("MOTCUA_SYNC_TEST_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	secret, _ := wire.ParseSecret(os.Getenv("MOTCUA_SYNC_TEST_SECRET"))
	c, err := upload.NewClient(upload.ClientConfig{
		HubURL: os.Getenv("MOTCUA_SYNC_TEST_HUB"), Site: "S1", Device: "pc1", Secret: secret,
		Interval: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		BatchSize: 7, Timeout: 5 * time.Second,
	}, src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	go c.Run(ctx)
	seed, _ := strconv.ParseUint(os.Getenv("MOTCUA_SYNC_TEST_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 1))
	days := []string{"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"}
	for n := 0; ; n++ {
		// One event counts one to four rows, which then share its revision.
		day := days[rng.IntN(len(days))]
		changes := []sqlsource.Change{randomChange(rng, day)}
		for range rng.IntN(4) {
			changes = append(changes, randomChange(rng, day))
		}
		if err := src.Apply(ctx, changes...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if n == 20 {
			fmt.Println("working") // the parent's cue that this life has counted something
		}
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
	}
}

func TestExactlyOnceUnderFaultsAndKills(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	faults := faultproxy.Faults{DropBefore: 0.1, Late: 0.1, DropAfter: 0.15, Duplicate: 0.1, Delay: 0.1, MaxDelay: 30 * time.Millisecond}
	proxy := faultproxy.Start(h.URL, faults, 6)
	defer proxy.Close()
	dbPath := filepath.Join(t.TempDir(), "agent.db")
	rng := rand.New(rand.NewPCG(42, 42))
	const rounds = 8
	for i := range rounds {
		child := testkit.StartChild(t, []string{"MOTCUA_SYNC_TEST_AGENT=1", "MOTCUA_SYNC_TEST_DB=" + dbPath,
			"MOTCUA_SYNC_TEST_SECRET=" + fmt.Sprintf("%x", secret), "MOTCUA_SYNC_TEST_HUB=" + proxy.URL,
			"MOTCUA_SYNC_TEST_SEED=" + strconv.Itoa(i)}, "working")
		// Let this life work a random while, then kill it mid-flight.
		time.Sleep(time.Duration(150+rng.IntN(350)) * time.Millisecond)
		child.Kill9(t)
	}
	// The agent's last life: the faults go on while it drains, then stop so it can finish.
	src := openSource(t, dbPath)
	c := newClient(t, upload.ClientConfig{HubURL: proxy.URL, Site: "S1", Device: "pc1", Secret: secret, BatchSize: 7}, src)
	ctx := context.Background()
	st := &proxy.Stats
	everyFault := func() bool {
		return st.DroppedBefore.Load() > 0 && st.Late.Load() > 0 && st.DroppedAfter.Load() > 0 && st.Duplicated.Load() > 0
	}
	// Go on until every kind of fault has happened at least once (a loaded machine may
	// have run few requests before the kills), with new counts between pushes.
	for i := 0; i < 20 || (!everyFault() && i < 1000); i++ {
		src.Apply(ctx, randomChange(rng, "2026-11-23"), randomChange(rng, "2026-11-22"))
		c.PushNow(ctx)
	}
	proxy.SetFaults(faultproxy.Faults{})
	if err := c.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Close() // delivers any request still held back: late, old revisions
	want, err := src.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameCounters(t, "after faults and kills", want, h.agentTotals(t, "pc1"))
	t.Logf("%d rows; proxy: %d requests, dropped before %d, late %d, dropped after commit %d, duplicated %d, delayed %d",
		len(want), st.Requests.Load(), st.DroppedBefore.Load(), st.Late.Load(), st.DroppedAfter.Load(), st.Duplicated.Load(), st.Delayed.Load())
	if !everyFault() {
		t.Fatal("some fault never happened; the test proves less than it says")
	}
}

// --- thirty days offline ---

// nextSleep is how long the client asked to wait: its next timer on the clock.
func nextSleep(t *testing.T, clock *testkit.Clock) time.Duration {
	t.Helper()
	if !clock.WaitTimers(1, 30*time.Second) {
		t.Fatal("the client stopped asking to sleep")
	}
	d, _ := clock.Next()
	return d
}

func TestThirtyDaysOffline(t *testing.T) {
	t.Parallel()
	ict := time.FixedZone("ICT", 7*3600)
	clock := testkit.NewClock(time.Date(2026, 10, 20, 8, 0, 0, 0, ict))
	h := startHub(t, clock.Now)
	secret := h.enroll(t, "S1", "pc1")
	proxy := faultproxy.Start(h.URL, faultproxy.Faults{}, 1)
	defer proxy.Close()
	proxy.SetDown(true)
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	const maxBackoff = 2 * time.Hour // a long cap keeps the test short; the rule is the same
	c := newClient(t, upload.ClientConfig{HubURL: proxy.URL, Site: "S1", Device: "pc1", Secret: secret, Clock: clock,
		MinBackoff: 2 * time.Second, MaxBackoff: maxBackoff, BatchSize: 500}, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	rng := rand.New(rand.NewPCG(30, 30))
	start := clock.Now()
	lastDay := ""
	events, attempts, largest := 0, 0, time.Duration(0)
	var maxBacklog int64
	for clock.Now().Sub(start) < 30*24*time.Hour {
		d := nextSleep(t, clock)
		attempts++
		largest = max(largest, d)
		if d > maxBackoff {
			t.Fatalf("attempt %d: waits %s, more than the cap %s", attempts, d, maxBackoff)
		}
		if attempts > 20 && d < maxBackoff/2 {
			t.Fatalf("attempt %d: wait fell to %s while the hub is still down", attempts, d)
		}
		st := c.Status()
		maxBacklog = max(maxBacklog, st.Backlog)
		if st.LastSuccess.IsZero() == false || st.Failures != attempts || !strings.Contains(st.LastError, "was cut") {
			t.Fatalf("attempt %d: status %+v", attempts, st)
		}
		clock.Add(d)
		// A working day at the counter: 200 events on a few services, on the agent's own day.
		if day := clock.Now().In(ict).Format(time.DateOnly); day != lastDay {
			lastDay = day
			for range 200 {
				ch := randomChange(rng, day)
				ch.Metric, ch.Dims = "tickets.issued", map[string]string{"service": strconv.Itoa(1 + rng.IntN(4))}
				if err := src.Apply(ctx, ch); err != nil {
					t.Fatal(err)
				}
				events++
			}
		}
	}
	all, _ := src.All(ctx)
	if maxBacklog > int64(len(all)) || int64(events) < 3*maxBacklog {
		t.Fatalf("backlog reached %d for %d rows and %d events: it must count rows, not events", maxBacklog, len(all), events)
	}
	t.Logf("30 days: %d attempts, longest wait %s, %d events in %d rows, largest backlog %d", attempts, largest, events, len(all), maxBacklog)

	proxy.SetDown(false) // the hub is back
	clock.Add(nextSleep(t, clock))
	if d := nextSleep(t, clock); d != time.Minute {
		t.Fatalf("after the hub came back the client waits %s, want the interval", d)
	}
	st := c.Status()
	if st.Failures != 0 || st.Backlog != 0 || st.LastError != "" || st.LastSuccess.IsZero() {
		t.Fatalf("status after the drain: %+v", st)
	}
	sameCounters(t, "after 30 days offline", all, h.agentTotals(t, "pc1"))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// --- many agents ---

func TestTwoHundredAgents(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	const agents = 200
	dir := t.TempDir()
	type agent struct {
		src *sqlsource.Source
		c   *upload.Client
	}
	list := make([]agent, agents)
	for i := range list {
		site := fmt.Sprintf("S%02d", i%20)
		device := fmt.Sprintf("pc%03d", i)
		secret := h.enroll(t, site, device)
		src := openSource(t, filepath.Join(dir, device+".db"))
		list[i] = agent{src, newClient(t, upload.ClientConfig{HubURL: h.URL, Site: site, Device: device, Secret: secret, BatchSize: 20}, src)}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for i, a := range list {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for round := range 2 {
				for range 10 {
					day := fmt.Sprintf("2026-11-%02d", 20+round)
					if err := a.src.Apply(ctx, randomChange(rng, day), randomChange(rng, day)); err != nil {
						errs <- err
						return
					}
				}
				// 200 at once may find the hub shedding (503 busy): an agent asks again
				// after the Retry-After it was given, as its sync loop does.
				err := a.c.PushNow(ctx)
				for try := 0; try < 20 && err != nil; try++ {
					var he *upload.HubError
					if !errors.As(err, &he) || he.Code != wire.CodeBusy {
						break
					}
					time.Sleep(max(he.RetryAfter, 100*time.Millisecond))
					err = a.c.PushNow(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("agent %d round %d: %w", i, round, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The province's totals are the sum over every agent's own counters.
	want := map[string]int64{}
	for _, a := range list {
		all, _ := a.src.All(ctx)
		for k, v := range all {
			day, metric, _ := strings.Cut(k, "|")
			metric, _, _ = strings.Cut(metric, "|")
			want[day+"|"+metric] += v
		}
	}
	rep, err := h.Totals(ctx, hub.Query{Period: hub.Period{From: "2026-11-01", To: "2026-11-30"}, By: []string{"day", "metric"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rep.Rows {
		got[r.Keys[0]+"|"+r.Keys[1]] = r.Value
	}
	sameCounters(t, "200 agents", want, got)
}

// --- clock, TLS, status ---

func TestClockFarBehindIsCorrected(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	clock := testkit.NewClock(time.Now().Add(-3*24*time.Hour - 5*time.Hour))
	c := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret, Clock: clock}, src)
	ctx := context.Background()
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 3})
	if err := c.PushNow(ctx); err != nil {
		t.Fatalf("push with a clock 3 days behind: %v", err)
	}
	st := c.Status()
	if off := time.Duration(st.ClockOffsetMS) * time.Millisecond; off < 77*time.Hour-time.Minute || off > 77*time.Hour+time.Minute {
		t.Fatalf("clock offset %s, want about 77h", off)
	}
	fleet, _ := h.Fleet(ctx, hub.Filter{})
	if off := time.Duration(fleet[0].ClockOffsetMS) * time.Millisecond; off > -77*time.Hour+time.Minute || off < -77*time.Hour-time.Minute {
		t.Fatalf("fleet shows clock offset %s, want about -77h", off)
	}
	// A restarted client keeps the correction: no refused first request.
	c2 := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret, Clock: clock}, src)
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 1})
	before := refusals(t, h, wire.CodeClockSkew)
	if err := c2.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	if after := refusals(t, h, wire.CodeClockSkew); after != before {
		t.Fatalf("restarted client was refused for its clock again (%d → %d)", before, after)
	}
}

func refusals(t *testing.T, h *hubUnderTest, code string) int {
	t.Helper()
	resp, err := httptest.NewRecorder(), error(nil)
	req := httptest.NewRequest("GET", "/metrics", nil)
	h.Handler().ServeHTTP(resp, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(resp.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, `motcua_hub_pushes_total{code="`+code+`"} `); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func TestTLSWithConfiguredCA(t *testing.T) {
	t.Parallel()
	h, err := hub.Open(filepath.Join(t.TempDir(), "hub.db"), hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewTLSServer(h.Handler())
	defer srv.Close()
	secret, _ := h.Enroll(context.Background(), hub.Site{Code: "S1"}, "pc1")
	key, _ := wire.ParseSecret(secret)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pemOf(srv.Certificate().Raw), 0o600); err != nil {
		t.Fatal(err)
	}
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	ctx := context.Background()
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 2})

	untrusting := newClient(t, upload.ClientConfig{HubURL: srv.URL, Site: "S1", Device: "pc1", Secret: key}, src)
	if err := untrusting.PushNow(ctx); err == nil {
		t.Fatal("pushed to a hub whose certificate nobody configured")
	}
	if st := untrusting.Status(); !strings.Contains(st.LastError, "sync.ca_file") || !strings.Contains(st.LastErrorVi, "chứng thư") {
		t.Fatalf("TLS failure explained as %q / %q", st.LastError, st.LastErrorVi)
	}
	tlsCfg, err := upload.LoadCA(caFile)
	if err != nil {
		t.Fatal(err)
	}
	trusting := newClient(t, upload.ClientConfig{HubURL: srv.URL, Site: "S1", Device: "pc1", Secret: key, TLS: tlsCfg}, src)
	if err := trusting.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := upload.LoadCA(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("loaded a missing CA file")
	}
	if _, err := upload.LoadCA(caFile + ".x"); err == nil {
		t.Fatal("loaded a missing CA file")
	}
}

func TestStatusExplainsAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	dbPath := filepath.Join(t.TempDir(), "agent.db")
	src := openSource(t, dbPath)
	ctx := context.Background()
	for i := range 30 {
		src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "tickets.issued", Dims: map[string]string{"service": strconv.Itoa(i)}, Delta: 1})
	}
	cases := []struct {
		device string
		secret []byte
		want   string
	}{
		{"stranger", secret, "enroll"},
		{"pc1", make([]byte, 32), "sync.secret"},
	}
	for _, c := range cases {
		cl := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: c.device, Secret: c.secret}, src)
		if err := cl.PushNow(ctx); err == nil {
			t.Fatalf("%s: push succeeded", c.device)
		}
		if st := cl.Status(); !strings.Contains(st.LastError, c.want) || st.LastErrorVi == "" || st.Failures < 1 {
			t.Fatalf("%s: status %+v", c.device, st)
		}
	}
	// Another process (`sync status`) reads the saved state and counts the backlog.
	other := openSource(t, dbPath)
	st, err := upload.ReadStatus(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if st.Backlog != 30 || !strings.Contains(st.LastError, "sync.secret") {
		t.Fatalf("saved status %+v", st)
	}
	cl := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret, BatchSize: 8}, src)
	if err := cl.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = upload.ReadStatus(ctx, other)
	if st.Backlog != 0 || st.Watermark != 30 || st.LastError != "" || st.LastSuccess.IsZero() {
		t.Fatalf("status after success %+v", st)
	}
	raw, _ := json.Marshal(st)
	if strings.Contains(string(raw), string(secret)) {
		t.Fatal("status holds the secret")
	}
}

func TestRevokedDeviceKeepsDataAndRetries(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	ctx := context.Background()
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 2})
	h.Revoke(ctx, "pc1")
	c := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret}, src)
	if err := c.PushNow(ctx); err == nil {
		t.Fatal("revoked device pushed")
	}
	if st := c.Status(); !strings.Contains(st.LastError, "revoked") || st.Watermark != 0 {
		t.Fatalf("status %+v", st)
	}
	if rows := h.agentTotals(t, "pc1"); len(rows) != 0 {
		t.Fatalf("revoked device stored %v", rows)
	}
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// A row no hub accepts (a flow counted below zero) must not hold back the others.
func TestUnsendableRowDoesNotBlockTheRest(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	ctx := context.Background()
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 3})
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "gate.occupancy", Delta: -2},
		sqlsource.Change{Day: "2026-11-20", Metric: "tickets.issued", Delta: 1})
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-21", Metric: "checkins", Delta: 4})
	c := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret, BatchSize: 2}, src)
	if err := c.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	if st.Unsendable != 1 || !strings.Contains(st.LastUnsendable, "gate.occupancy") || st.Watermark != 3 || st.Backlog != 0 {
		t.Fatalf("status %+v", st)
	}
	got := h.agentTotals(t, "pc1")
	want := map[string]int64{"2026-11-20|checkins|{}": 3, "2026-11-20|tickets.issued|{}": 1, "2026-11-21|checkins|{}": 4}
	sameCounters(t, "valid rows", want, got)
}

// A row the hub would refuse for its dims (an empty reason an older agent counted, a
// dim the metric does not have, an ID-shaped value) is left out before sending: kept
// in, it would have the whole push refused, and every push after it. Its value is
// never logged.
func TestRowTheHubRefusesIsLeftOut(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil)
	secret := h.enroll(t, "S1", "pc1")
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	ctx := context.Background()
	src.Apply(ctx, sqlsource.Change{Day: "2026-11-20", Metric: "checkins", Delta: 3},
		sqlsource.Change{Day: "2026-11-20", Metric: "identity.verifications", Dims: map[string]string{"outcome": "ok", "reason": ""}, Delta: 1},
		sqlsource.Change{Day: "2026-11-20", Metric: "tickets.served", Dims: map[string]string{"service": "1", "counter": "079203004599"}, Delta: 1},
		sqlsource.Change{Day: "2026-11-20", Metric: "tickets.issued", Dims: map[string]string{"service": "1", "site": "S2"}, Delta: 1},
		sqlsource.Change{Day: "2026-11-20", Metric: "identity.verifications", Dims: map[string]string{"outcome": "ok"}, Delta: 2})
	var logs strings.Builder
	c := newClient(t, upload.ClientConfig{HubURL: h.URL, Site: "S1", Device: "pc1", Secret: secret,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}, src)
	if err := c.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.Unsendable != 3 || st.Backlog != 0 {
		t.Fatalf("status %+v", st)
	}
	want := map[string]int64{"2026-11-20|checkins|{}": 3, `2026-11-20|identity.verifications|{"outcome":"ok"}`: 2}
	sameCounters(t, "rows the hub stores", want, h.agentTotals(t, "pc1"))
	if strings.Contains(logs.String(), "079203004599") || !strings.Contains(logs.String(), "counter left out") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

func TestHubDownIsExplained(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	c := newClient(t, upload.ClientConfig{HubURL: "http://" + addr, Site: "S1", Device: "pc1", Secret: make([]byte, 32)}, src)
	if err := c.PushNow(context.Background()); err == nil {
		t.Fatal("pushed to nothing")
	}
	if st := c.Status(); !strings.Contains(st.LastError, "refused the connection") || !strings.Contains(st.LastErrorVi, "không nhận kết nối") {
		t.Fatalf("hub down explained as %q / %q", st.LastError, st.LastErrorVi)
	}
}

// A hub that sheds load says when to come back: the client waits at least that long,
// not its own shorter backoff.
func TestHonoursRetryAfter(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Retry-After", "40")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"busy","message":"at capacity","hub_time":"2026-11-23T09:00:00Z"}`)
	}))
	defer srv.Close()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	src := openSource(t, filepath.Join(t.TempDir(), "agent.db"))
	src.Apply(context.Background(), sqlsource.Change{Day: "2026-11-20", Metric: "tickets.issued", Delta: 1})
	c := newClient(t, upload.ClientConfig{HubURL: srv.URL, Site: "S1", Device: "pc1", Secret: make([]byte, 32), Clock: clock,
		MinBackoff: time.Second, MaxBackoff: 10 * time.Minute}, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	for i := range 3 {
		if d := nextSleep(t, clock); d < 40*time.Second || d > 10*time.Minute {
			t.Fatalf("attempt %d: the client waits %s, the hub asked for 40s", i+1, d)
		}
		clock.Add(40 * time.Second)
	}
	if n := asked.Load(); n < 3 {
		t.Fatalf("asked %d times", n)
	}
}
