package gate

import (
	"context"
	"sync"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/config"
)

// ScanTopic is the bus topic the check-in flow publishes every scan on; scans from
// scanners with purpose gate carry their lane as "counter" and the payload in Personal.
const ScanTopic = "scan"

// FollowScans decides the gate scans published on the bus until ctx ends or sub
// closes.
func (g *Gate) FollowScans(ctx context.Context, sub *bus.Subscription) {
	in := make(chan Scan, 64)
	done := make(chan struct{})
	go func() { defer close(done); g.Follow(ctx, in) }()
	defer func() { close(in); <-done }()
	sub.Each(ctx, func(m bus.Message) {
		if s, ok := scanOf(m); ok {
			select {
			case in <- s:
			case <-ctx.Done():
			}
		}
	})
}

// Follow decides scans from in until it closes or ctx ends. Each lane decides in its
// own goroutine, so a slow relay on one lane never holds up another, and scans on one
// lane keep their order.
func (g *Gate) Follow(ctx context.Context, in <-chan Scan) {
	queues := map[string]chan Scan{}
	var wg sync.WaitGroup
	for _, name := range g.order {
		q := make(chan Scan, 64)
		queues[name] = q
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			for s := range q {
				if _, err := g.OnScan(ctx, s); err != nil && ctx.Err() == nil {
					g.log.Error("gate: scan", "lane", name, "err", err)
				}
			}
		}(name)
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	warned := map[string]bool{}
	for {
		var s Scan
		var ok bool
		select {
		case <-ctx.Done():
			return
		case s, ok = <-in:
			if !ok {
				return
			}
		}
		q, known := queues[s.Lane]
		if !known {
			if !warned[s.Lane] {
				g.log.Warn("gate: a gate scanner names a lane the gate does not have", "lane", s.Lane)
				warned[s.Lane] = true
			}
			continue
		}
		select {
		case q <- s:
		case <-ctx.Done():
			return
		}
	}
}

// scanOf reads a gate scan from a bus message (ok false for other purposes).
func scanOf(m bus.Message) (Scan, bool) {
	s, ok := m.Public.(checkin.Scan)
	if !ok || s.Purpose != config.ScanForGate {
		return Scan{}, false
	}
	p, _ := m.Personal.(checkin.ScanPersonal)
	return Scan{Lane: s.Counter, Payload: []byte(p.Payload), At: m.Time}, true
}
