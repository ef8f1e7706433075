package gate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/relay"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

var ict = time.FixedZone("ICT", 7*3600)

// laneRig is one lane's hardware on pty pairs: the scanner (the test writes codes on
// the host end; the agent's scanner driver reads the device end) and the relay board
// simulator.
type laneRig struct {
	scanPair  *ptypair.Pair
	scanner   *scanner.Simulator
	relayPair *ptypair.Pair
	board     *relay.Simulator
	relay     *relay.Relay
}

type rig struct {
	t        testing.TB
	dir      string
	cfg      *config.Config
	st       *store.Store
	ids      *store.IDHasher
	bus      *bus.Bus
	sub      *bus.Subscription
	hl       *health.Registry
	clock    *testkit.Clock
	g        *Gate
	lanes    map[string]*laneRig
	scanners []config.Scanner
	// direct feeds the scanner driver's scans straight to the gate, without the
	// check-in flow's own durable record and the bus (benchmarks compare both).
	direct bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// baseConfig is a site with the given lanes.
func baseConfig(t testing.TB, lanes ...config.GateLane) *config.Config {
	t.Helper()
	text := `profile: gate
site: {province_code: "40", commune_code: "17866", id: kim-lien, name: Khu di tích Kim Liên, device_id: cong-1}
`
	cfg, err := config.Parse([]byte(text), filepath.Join(t.TempDir(), "gate.yaml"), config.Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Gate = config.Gate{Enabled: true, DuplicateWindow: 3 * time.Second, Pulse: 20 * time.Millisecond,
		TicketPrefix: "VE-KL-", Lanes: lanes}
	return cfg
}

func startPair(t testing.TB, dir, name string) *ptypair.Pair {
	t.Helper()
	p := ptypair.New(dir, name)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// laneScanner is the config of a lane's scanner as a site would write it.
func laneScanner(laneName, port string) config.Scanner {
	return config.Scanner{Name: "quet-" + laneName, Lane: laneName, Purpose: config.ScanForGate, Port: port,
		Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600}
}

// newRig starts the lanes' ptys, relay simulators, the scanner driver and check-in
// flow that publish scans, and the gate that follows them. boards names each lane's
// relay board ("" for a lane without relay).
func newRig(t testing.TB, cfg *config.Config, boards map[string]string, now time.Time) *rig {
	return newRigFed(t, cfg, boards, now, false)
}

func newRigFed(t testing.TB, cfg *config.Config, boards map[string]string, now time.Time, direct bool) *rig {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	r := &rig{t: t, dir: t.TempDir(), cfg: cfg, ids: store.NewIDHasher([]byte("test-secret-0123456789")),
		bus: bus.New(nil), hl: health.New(nil), clock: testkit.NewClock(now), lanes: map[string]*laneRig{}, direct: direct}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.sub = r.bus.Subscribe(1024, topic)
	relays := map[string]*relay.Relay{}
	for i := range cfg.Gate.Lanes {
		lc := &cfg.Gate.Lanes[i]
		lr := &laneRig{}
		var err error
		lr.scanPair = startPair(t, r.dir, lc.Name+"-scan")
		if lr.scanner, err = scanner.OpenSimulator(lr.scanPair); err != nil {
			t.Fatal(err)
		}
		r.scanners = append(r.scanners, laneScanner(lc.Name, lr.scanPair.Device))
		if b := boards[lc.Name]; b != "" {
			lr.relayPair = startPair(t, r.dir, lc.Name+"-relay")
			lc.Relay = &config.GateRelay{Port: lr.relayPair.Device, Board: b, Channel: 1, Baud: 9600, Timeout: 2 * time.Second}
			board, err := relay.BoardFor(*lc.Relay)
			if err != nil {
				t.Fatal(err)
			}
			if lr.board, err = relay.Simulate(lr.relayPair.Host, board); err != nil {
				t.Fatal(err)
			}
			if lr.relay, err = relay.Open(*lc.Relay, relay.Options{}); err != nil {
				t.Fatal(err)
			}
			relays[lc.Name] = lr.relay
		}
		r.lanes[lc.Name] = lr
	}
	r.openStore()
	r.startGate(relays)
	t.Cleanup(r.close)
	return r
}

func (r *rig) openStore() {
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(r.dir, "agent.db"), Location: ict,
		Now: r.clock.Now, Logger: quietLog()})
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
}

// startGate runs the production chain: scanner driver → check-in flow (records the
// scan, publishes it on the bus) → gate.
func (r *rig) startGate(relays map[string]*relay.Relay) {
	g, err := New(r.ctx, Options{Config: r.cfg, Store: r.st, IDs: r.ids, Bus: r.bus, Health: r.hl,
		Log: quietLog(), Now: r.clock.Now, Relays: relays})
	if err != nil {
		r.t.Fatal(err)
	}
	r.g = g
	cl, err := qrpayload.NewClassifier("")
	if err != nil {
		r.t.Fatal(err)
	}
	flow := checkin.New(r.st, r.ids, r.bus, cl, r.cfg.Site.ID, quietLog(), metrics.New())
	sub := r.bus.Subscribe(1024, ScanTopic)
	scans := make(chan scanner.Scan, 256)
	r.wg.Add(3)
	if r.direct {
		sub.Close()
		direct := make(chan Scan, 64)
		go func() {
			defer r.wg.Done()
			defer close(direct)
			for {
				select {
				case <-r.ctx.Done():
					return
				case s := <-scans:
					direct <- Scan{Lane: s.Tag, Payload: []byte(s.Text), At: s.Received}
				}
			}
		}()
		go func() { defer r.wg.Done(); g.Follow(r.ctx, direct) }()
	} else {
		go func() { defer r.wg.Done(); g.FollowScans(r.ctx, sub) }()
		go func() { defer r.wg.Done(); flow.Run(r.ctx, scans) }()
	}
	go func() {
		defer r.wg.Done()
		scanner.RunAll(r.ctx, r.scanners, scans, func(name string, s scanner.State, detail string) {
			st := map[scanner.State]health.State{scanner.StateOK: health.OK, scanner.StateFault: health.Fault}[s]
			if st == "" {
				st = health.Absent
			}
			r.hl.Set(health.Device{Name: "scanner " + name, Kind: "scanner", State: st, Detail: detail})
		})
	}()
	for name := range r.lanes {
		r.waitHealth("scanner quet-"+name, health.OK)
	}
}

func (r *rig) close() {
	r.cancel()
	r.wg.Wait()
	for _, l := range r.lanes {
		if l.scanner != nil {
			l.scanner.Close()
		}
		if l.board != nil {
			l.board.Close()
		}
		if l.relay != nil {
			l.relay.Close()
		}
	}
	r.sub.Close()
	r.st.Close()
}

// scan writes a code to a lane's scanner as the scanner would (CR LF after it) and
// returns the decision the lane published.
func (r *rig) scan(laneName, payload string) LaneDecision {
	r.t.Helper()
	r.write(laneName, payload)
	return r.next()
}

func (r *rig) write(laneName, payload string) {
	r.t.Helper()
	if err := r.lanes[laneName].scanner.Scan(payload, []byte("\r")); err != nil {
		r.t.Fatalf("write scan to %s: %v", laneName, err)
	}
}

// next is the next decision published on the bus.
func (r *rig) next() LaneDecision {
	r.t.Helper()
	select {
	case m := <-r.sub.C:
		return m.Public.(LaneDecision)
	case <-time.After(15 * time.Second):
		r.t.Fatal("no decision published within 15s")
	}
	return LaneDecision{}
}

func (r *rig) waitHealth(name string, want health.State) {
	r.t.Helper()
	var d health.Device
	testkit.Eventually(r.t, 15*time.Second, func() bool { d, _ = r.hl.Get(name); return d.State == want },
		"%s: state %q, want %q", name, &d.State, want)
}

// waitRelay waits for the board to receive a close (true) or release (false).
func (r *rig) waitRelay(laneName string, closed bool) relay.Command {
	r.t.Helper()
	for {
		select {
		case c := <-r.lanes[laneName].board.Commands():
			if c.Closed == closed {
				return c
			}
		case <-time.After(15 * time.Second):
			r.t.Fatalf("%s: relay got no closed=%v command", laneName, closed)
		}
	}
}

// counter sums today's counter values of metric whose dims contain match.
func (r *rig) counter(metric string, match map[string]string) int64 {
	r.t.Helper()
	rows, err := r.st.Counters(context.Background(), "")
	if err != nil {
		r.t.Fatal(err)
	}
	return store.Sum(rows, metric, match)
}

func expect(t *testing.T, d LaneDecision, outcome, reason string) {
	t.Helper()
	if d.Outcome != outcome || (reason != "" && d.Reason != reason) {
		t.Fatalf("decision %v, want outcome %s reason %s", d, outcome, reason)
	}
	if d.Message == "" {
		t.Fatalf("decision %v has no message for the screen", d)
	}
}

// cardQR is a fictional citizen's ID card QR.
func cardQR(n int) string {
	return fmt.Sprintf("0010990%05d||Nguyễn Văn Khách|01021990|Nam|Xã Kim Liên, Nghệ An|15062021", n)
}

func laneCfg(name, dir string) config.GateLane {
	return config.GateLane{Name: name, Title: "Lối " + name, Direction: dir, Pulse: 20 * time.Millisecond,
		AllowedKinds: []string{config.KindCCCD, config.KindVNeID, config.KindETicket}}
}
