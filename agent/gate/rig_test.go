package gate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/relay"
)

var ict = time.FixedZone("ICT", 7*3600)

// clock is the injected clock: tests move it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// laneRig is one lane's hardware on pty pairs: the scanner's far end (the test writes
// codes there) and the relay board simulator.
type laneRig struct {
	scanPair  *ptypair.Pair
	scanner   serial.Port
	relayPair *ptypair.Pair
	board     *relay.Simulator
	relay     *relay.Relay
}

type rig struct {
	t      testing.TB
	dir    string
	cfg    *config.Config
	st     *store.Store
	ids    *store.IDHasher
	bus    *bus.Bus
	sub    *bus.Subscription
	hl     *health.Registry
	clock  *clock
	g      *Gate
	lanes  map[string]*laneRig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// baseConfig is a site with the given lanes (relay boards as given, "" for none).
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

// newRig starts the lanes' ptys, relay simulators and scanner readers, and the gate.
// boards names each lane's relay board ("" for a lane without relay).
func newRig(t testing.TB, cfg *config.Config, boards map[string]string, now time.Time) *rig {
	t.Helper()
	if err := ptypair.Available(); err != nil {
		t.Skip(err)
	}
	r := &rig{t: t, dir: t.TempDir(), cfg: cfg, ids: store.NewIDHasher([]byte("test-secret-0123456789")),
		bus: bus.New(nil), hl: health.New(nil), clock: &clock{t: now}, lanes: map[string]*laneRig{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.sub = r.bus.Subscribe(1024, topic)
	relays := map[string]*relay.Relay{}
	for i := range cfg.Gate.Lanes {
		lc := &cfg.Gate.Lanes[i]
		lr := &laneRig{}
		var err error
		if lr.scanPair, err = ptypair.Start(r.dir, lc.Name+"-scan"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lr.scanPair.Close)
		lc.Scanner = config.GateScanner{Port: lr.scanPair.A, Baud: 9600}
		if lr.scanner, err = serial.Open(lr.scanPair.B, &serial.Mode{BaudRate: 9600}); err != nil {
			t.Fatal(err)
		}
		if b := boards[lc.Name]; b != "" {
			if lr.relayPair, err = ptypair.Start(r.dir, lc.Name+"-relay"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(lr.relayPair.Close)
			lc.Relay = &config.GateRelay{Port: lr.relayPair.A, Board: b, Channel: 1, Baud: 9600, Timeout: 500 * time.Millisecond}
			board, err := relay.BoardFor(*lc.Relay)
			if err != nil {
				t.Fatal(err)
			}
			if lr.board, err = relay.Simulate(lr.relayPair.B, board); err != nil {
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

func (r *rig) startGate(relays map[string]*relay.Relay) {
	g, err := New(r.ctx, Options{Config: r.cfg, Store: r.st, IDs: r.ids, Bus: r.bus, Health: r.hl,
		Log: quietLog(), Now: r.clock.Now, Relays: relays})
	if err != nil {
		r.t.Fatal(err)
	}
	r.g = g
	for name := range r.lanes {
		r.wg.Add(1)
		go func(name string) { defer r.wg.Done(); g.ReadScanner(r.ctx, name) }(name)
	}
	for name := range r.lanes {
		r.waitHealth("gate-"+name+"-scanner", health.OK)
	}
}

func (r *rig) close() {
	r.cancel()
	r.wg.Wait()
	for _, l := range r.lanes {
		l.scanner.Close()
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
func (r *rig) scan(laneName, payload string) map[string]any {
	r.t.Helper()
	r.write(laneName, payload)
	return r.next()
}

func (r *rig) write(laneName, payload string) {
	r.t.Helper()
	if _, err := r.lanes[laneName].scanner.Write([]byte(payload + "\r\n")); err != nil {
		r.t.Fatalf("write scan to %s: %v", laneName, err)
	}
}

// next is the next decision published on the bus.
func (r *rig) next() map[string]any {
	r.t.Helper()
	select {
	case m := <-r.sub.C:
		return m.Public
	case <-time.After(15 * time.Second):
		r.t.Fatal("no decision published within 15s")
	}
	return nil
}

// noDecision checks nothing is published for a while (a duplicate is silent).
func (r *rig) noDecision(wait time.Duration) {
	r.t.Helper()
	select {
	case m := <-r.sub.C:
		r.t.Fatalf("unexpected decision %v", m.Public)
	case <-time.After(wait):
	}
}

func (r *rig) waitHealth(name string, want health.State) {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if d, ok := r.hl.Get(name); ok && d.State == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d, _ := r.hl.Get(name)
	r.t.Fatalf("%s: state %q, want %q", name, d.State, want)
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
	var n int64
rows:
	for _, row := range rows {
		if row.Metric != metric {
			continue
		}
		for k, v := range match {
			if row.Dims[k] != v {
				continue rows
			}
		}
		n += row.Value
	}
	return n
}

func expect(t *testing.T, d map[string]any, outcome, reason string) {
	t.Helper()
	if d["outcome"] != outcome || (reason != "" && d["reason"] != reason) {
		t.Fatalf("decision %v, want outcome %s reason %s", d, outcome, reason)
	}
	if d["message"] == "" {
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
