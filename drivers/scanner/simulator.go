package scanner

import (
	"context"
	"fmt"
	"os"
	"time"

	"motcua-agent/drivers/ptypair"
)

// Simulator is a scanner on the host end of a pty pair: it writes scans as a USB-CDC
// scanner would.
type Simulator struct {
	f *os.File
}

// OpenSimulator opens the host end of a pair for writing.
func OpenSimulator(p *ptypair.Pair) (*Simulator, error) {
	f, err := os.OpenFile(p.Host, os.O_WRONLY|syscallNoCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("simulator: open %s: %w", p.Host, err)
	}
	return &Simulator{f: f}, nil
}

// Write sends raw bytes (pieces of a scan, garbage, several scans at once).
func (s *Simulator) Write(b []byte) error {
	_, err := s.f.Write(b)
	return err
}

// Scan sends one payload followed by the suffix bytes.
func (s *Simulator) Scan(payload string, suffix []byte) error {
	return s.Write(append([]byte(payload), suffix...))
}

// Close closes the host end.
func (s *Simulator) Close() error { return s.f.Close() }

// RunDemo plays payloads into a new pty pair every interval until ctx ends (the demo
// scanner of `run` with simulate: true). The pair's Device is ready when it returns.
func RunDemo(ctx context.Context, p *ptypair.Pair, suffix []byte, interval time.Duration, payloads []string) error {
	if err := p.Start(); err != nil {
		return err
	}
	sim, err := OpenSimulator(p)
	if err != nil {
		p.Stop()
		return err
	}
	go func() {
		defer p.Stop()
		defer sim.Close()
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if len(payloads) > 0 {
					_ = sim.Scan(payloads[i%len(payloads)], suffix)
				}
			}
		}
	}()
	return nil
}
