package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"motcua-agent/agent/gate"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/relay"
	"motcua-agent/drivers/scanner"
)

// gateSim is the running simulation of the gate's devices (nil without simulate).
var gateSim *gateSimulation

// startGateSimulation gives every lane, when simulate is on, a scanner and a relay
// board on pty pairs: the scanners join the config's scanners (purpose gate) before
// the scan flow opens them, the relays replace the lanes' ports.
func startGateSimulation(ctx context.Context, a *App) error {
	gateSim = nil
	if !a.Config.Gate.Enabled || !a.Config.Simulate {
		return nil
	}
	sim, err := simulateGate(a.Config)
	if err != nil {
		return fmt.Errorf("gate simulation: %w", err)
	}
	gateSim = sim
	a.Go(func() { <-ctx.Done(); sim.close() })
	return nil
}

// startGate runs the tourist-site gate when the config enables it: it follows the
// scans of the gate's scanners on the bus, drives each lane's relay, checks the
// closing time, and serves the API, the lane page and the dashboard block.
func startGate(ctx context.Context, a *App) error {
	cfg := a.Config
	if !cfg.Gate.Enabled {
		return nil
	}
	scanned := map[string]bool{}
	for i, sc := range cfg.Scanners {
		if sc.Purpose != config.ScanForGate {
			continue
		}
		if _, ok := cfg.Gate.Lane(sc.Lane); !ok {
			return fmt.Errorf("scanners[%d].lane: %q is not a lane under gate.lanes", i, sc.Lane)
		}
		scanned[sc.Lane] = true
	}
	relays := map[string]*relay.Relay{}
	for i, l := range cfg.Gate.Lanes {
		if !scanned[l.Name] {
			a.Log.Warn("gate lane has no scanner (add one under scanners with purpose: gate and this lane)", "lane", l.Name)
		}
		if l.Relay == nil {
			continue
		}
		if l.Relay.Port == "" {
			return fmt.Errorf("gate.lanes[%d].relay.port: required (the relay board's serial port)", i)
		}
		r, err := relay.Open(*l.Relay, relay.Options{})
		if err != nil {
			return fmt.Errorf("gate lane %s: %w", l.Name, err)
		}
		relays[l.Name] = r
	}
	g, err := gate.New(ctx, gate.Options{Config: cfg, Store: a.Store, IDs: a.IDs, Bus: a.Bus, Health: a.Health,
		Metrics: a.Metrics, Log: a.Log.With("flow", "gate"), Now: a.Now, Relays: relays})
	if err != nil {
		return err
	}
	g.Register(a.Web)
	if gateSim != nil {
		a.Web.HandleFunc("POST /api/v1/gate/lanes/{lane}/simulate", gateSim.scanHandler, web.RoleAdmin)
	}
	sub := a.Bus.Subscribe(1024, gate.ScanTopic)
	a.Go(func() { defer sub.Close(); g.FollowScans(ctx, sub) })
	a.Go(func() { g.Run(ctx, 2*time.Second) })
	a.Go(func() {
		<-ctx.Done()
		for _, r := range relays {
			r.Close()
		}
	})
	a.Log.Info("gate running", "lanes", len(cfg.Gate.Lanes), "capacity", cfg.Gate.Capacity, "occupancy", g.Occupancy(),
		"simulated", gateSim != nil)
	return nil
}

// gateSimulation is the demo's hardware: per lane a scanner and a relay board on pty
// pairs; scans are typed in through the admin API.
type gateSimulation struct {
	mu       sync.Mutex
	pairs    []*ptypair.Pair
	scanners map[string]*scanner.Simulator
	boards   []*relay.Simulator
}

func simulateGate(cfg *config.Config) (*gateSimulation, error) {
	s := &gateSimulation{scanners: map[string]*scanner.Simulator{}}
	dir := filepath.Join(cfg.DataDir, "run")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	start := func(name string) (*ptypair.Pair, error) {
		p := ptypair.New(dir, name)
		if err := p.Start(); err != nil {
			return nil, err
		}
		s.pairs = append(s.pairs, p)
		return p, nil
	}
	// Simulated lanes replace the site's gate scanners (their ports are not here).
	kept := cfg.Scanners[:0:0]
	for _, sc := range cfg.Scanners {
		if sc.Purpose != config.ScanForGate {
			kept = append(kept, sc)
		}
	}
	cfg.Scanners = kept
	for i := range cfg.Gate.Lanes {
		l := &cfg.Gate.Lanes[i]
		sp, err := start("gate-" + l.Name + "-scanner")
		if err != nil {
			s.close()
			return nil, err
		}
		w, err := scanner.OpenSimulator(sp)
		if err != nil {
			s.close()
			return nil, err
		}
		s.scanners[l.Name] = w
		cfg.Scanners = append(cfg.Scanners, config.Scanner{Name: "gate-" + l.Name, Lane: l.Name, Purpose: config.ScanForGate,
			Port: sp.Device, Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600})
		rc := config.GateRelay{Board: config.RelayKMTronic, Channel: 1, Baud: 9600, Timeout: 300 * time.Millisecond}
		if l.Relay != nil {
			rc = *l.Relay
		}
		rp, err := start("gate-" + l.Name + "-relay")
		if err != nil {
			s.close()
			return nil, err
		}
		rc.Port = rp.Device
		board, err := relay.BoardFor(rc)
		if err != nil {
			s.close()
			return nil, err
		}
		b, err := relay.Simulate(rp.Host, board)
		if err != nil {
			s.close()
			return nil, err
		}
		s.boards = append(s.boards, b)
		l.Relay = &rc
	}
	return s, nil
}

// scanHandler types a code into a simulated lane's scanner, as a visitor would show it.
func (s *gateSimulation) scanHandler(w http.ResponseWriter, r *http.Request) {
	var body struct{ Payload string }
	if !web.ReadJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	sim, ok := s.scanners[r.PathValue("lane")]
	s.mu.Unlock()
	if !ok {
		web.WriteError(w, http.StatusNotFound, "no simulated lane "+r.PathValue("lane"), "Không có lối mô phỏng này.")
		return
	}
	if body.Payload == "" || len(body.Payload) > 4096 {
		web.WriteError(w, http.StatusBadRequest, "payload must be 1..4096 bytes", "Mã quét không hợp lệ.")
		return
	}
	if err := sim.Scan(body.Payload, []byte("\r")); err != nil {
		web.WriteError(w, http.StatusBadGateway, "write to simulated scanner: "+err.Error(), "Máy quét mô phỏng không nhận.")
		return
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"ok": true})
}

func (s *gateSimulation) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.scanners {
		w.Close()
	}
	for _, b := range s.boards {
		b.Close()
	}
	for _, p := range s.pairs {
		p.Stop()
	}
}
