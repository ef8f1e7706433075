package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// PTYPair is a socat pseudo-terminal pair: the agent opens Device as it would a
// scanner's COM port, the simulator writes into Host. Stop is an unplug (both ends
// vanish); Start again is a re-plug at the same paths.
type PTYPair struct {
	Device, Host string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// NewPTYPair names a pair in dir (not started).
func NewPTYPair(dir, name string) *PTYPair {
	return &PTYPair{Device: filepath.Join(dir, name), Host: filepath.Join(dir, name+".host")}
}

// Start runs socat and waits (up to 5 s) for both links.
func (p *PTYPair) Start() error {
	socat, err := exec.LookPath("socat")
	if err != nil {
		return fmt.Errorf("pty pair: socat not installed: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("pty pair: already started")
	}
	cmd := exec.Command(socat, "-b65536", "pty,raw,echo=0,link="+p.Device, "pty,raw,echo=0,link="+p.Host)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pty pair: start socat: %w", err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, e1 := os.Stat(p.Device)
		_, e2 := os.Stat(p.Host)
		if e1 == nil && e2 == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stopLocked()
	return errors.New("pty pair: socat did not create its links within 5 s")
}

// Stop ends socat (an unplug) and waits until the links are gone.
func (p *PTYPair) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

func (p *PTYPair) stopLocked() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
	// socat removes its links on a clean exit only; a killed one leaves them.
	os.Remove(p.Device)
	os.Remove(p.Host)
}

// Simulator is a scanner on the host end of a pty pair: it writes scans as a USB-CDC
// scanner would.
type Simulator struct {
	f *os.File
}

// OpenSimulator opens the host end of a pair for writing.
func OpenSimulator(p *PTYPair) (*Simulator, error) {
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
func RunDemo(ctx context.Context, p *PTYPair, suffix []byte, interval time.Duration, payloads []string) error {
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
