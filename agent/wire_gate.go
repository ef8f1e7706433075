package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"go.bug.st/serial"

	"motcua-agent/agent/gate"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/relay"
)

func init() {
	registerComponent("gate", 50, startGate)
}

// startGate runs the tourist-site gate when the config enables it: each lane's scanner
// reader and relay, the closing-time check, the API, the lane page and the dashboard
// block. With simulate, every lane gets a scanner and a relay board on pty pairs.
func startGate(ctx context.Context, a *App) error {
	if !a.Config.Gate.Enabled {
		return nil
	}
	cfg := *a.Config
	cfg.Gate.Lanes = append([]config.GateLane(nil), a.Config.Gate.Lanes...)
	var sim *gateSimulation
	if cfg.Simulate {
		var err error
		if sim, err = simulateGate(&cfg); err != nil {
			return fmt.Errorf("gate simulation: %w", err)
		}
	}
	relays := map[string]*relay.Relay{}
	for i, l := range cfg.Gate.Lanes {
		if l.Scanner.Port == "" {
			return fmt.Errorf("gate.lanes[%d].scanner.port: required (the scanner's serial port), or set simulate: true", i)
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
	g, err := gate.New(ctx, gate.Options{Config: &cfg, Store: a.Store, IDs: a.IDs, Bus: a.Bus, Health: a.Health,
		Metrics: a.Metrics, Log: a.Log, Now: a.Now, Relays: relays})
	if err != nil {
		return err
	}
	g.Register(a.Web)
	if sim != nil {
		a.Web.HandleFunc("POST /api/v1/gate/lanes/{lane}/simulate", sim.scanHandler, web.RoleAdmin)
	}
	a.Go(func() { g.Run(ctx, 2*time.Second) })
	for _, l := range cfg.Gate.Lanes {
		name := l.Name
		a.Go(func() { g.ReadScanner(ctx, name) })
	}
	a.Go(func() {
		<-ctx.Done()
		for _, r := range relays {
			r.Close()
		}
		if sim != nil {
			sim.close()
		}
	})
	a.Log.Info("gate running", "lanes", len(cfg.Gate.Lanes), "capacity", cfg.Gate.Capacity, "occupancy", g.Occupancy(),
		"simulated", sim != nil)
	return nil
}

// gateSimulation is the demo's hardware: per lane a scanner and a relay board on pty
// pairs; scans are typed in through the admin API.
type gateSimulation struct {
	mu       sync.Mutex
	pairs    []*ptypair.Pair
	scanners map[string]serial.Port
	boards   []*relay.Simulator
}

func simulateGate(cfg *config.Config) (*gateSimulation, error) {
	s := &gateSimulation{scanners: map[string]serial.Port{}}
	dir := filepath.Join(cfg.DataDir, "sim")
	for i := range cfg.Gate.Lanes {
		l := &cfg.Gate.Lanes[i]
		sp, err := ptypair.Start(dir, "gate-"+l.Name+"-scanner")
		if err != nil {
			s.close()
			return nil, err
		}
		s.pairs = append(s.pairs, sp)
		far, err := serial.Open(sp.B, &serial.Mode{BaudRate: 9600})
		if err != nil {
			s.close()
			return nil, err
		}
		s.scanners[l.Name] = far
		l.Scanner.Port = sp.A
		rc := config.GateRelay{Board: config.RelayKMTronic, Channel: 1, Baud: 9600, Timeout: 300 * time.Millisecond}
		if l.Relay != nil {
			rc = *l.Relay
		}
		rp, err := ptypair.Start(dir, "gate-"+l.Name+"-relay")
		if err != nil {
			s.close()
			return nil, err
		}
		s.pairs = append(s.pairs, rp)
		rc.Port = rp.A
		board, err := relay.BoardFor(rc)
		if err != nil {
			s.close()
			return nil, err
		}
		b, err := relay.Simulate(rp.B, board)
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
	p, ok := s.scanners[r.PathValue("lane")]
	s.mu.Unlock()
	if !ok {
		web.WriteError(w, http.StatusNotFound, "no simulated lane "+r.PathValue("lane"), "Không có lối mô phỏng này.")
		return
	}
	if body.Payload == "" || len(body.Payload) > 4096 {
		web.WriteError(w, http.StatusBadRequest, "payload must be 1..4096 bytes", "Mã quét không hợp lệ.")
		return
	}
	if _, err := p.Write([]byte(body.Payload + "\r\n")); err != nil {
		web.WriteError(w, http.StatusBadGateway, "write to simulated scanner: "+err.Error(), "Máy quét mô phỏng không nhận.")
		return
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"ok": true})
}

func (s *gateSimulation) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, p := range s.scanners {
		errs = append(errs, p.Close())
	}
	for _, b := range s.boards {
		errs = append(errs, b.Close())
	}
	for _, p := range s.pairs {
		p.Close()
	}
	_ = errors.Join(errs...)
}
