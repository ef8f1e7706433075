// Package ptypair makes a connected pair of pseudo-terminals with socat: one end for
// the agent (as if it were a serial device), the other for a simulator of the device.
// It is how the demo and the tests run serial devices without hardware; it must never
// be used to reach a real device.
package ptypair

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrNoSocat means socat is not installed.
var ErrNoSocat = errors.New("socat not found")

// Pair is a running socat joining two pseudo-terminals, reachable by the links Host
// (the agent's side) and Device (the simulator's side).
type Pair struct {
	Host, Device string
	cmd          *exec.Cmd
	done         chan struct{}
}

// Open starts socat with its links in dir, named name-host and name-device, and waits
// until both exist.
func Open(ctx context.Context, dir, name string) (*Pair, error) {
	bin, err := exec.LookPath("socat")
	if err != nil {
		return nil, ErrNoSocat
	}
	p := &Pair{Host: filepath.Join(dir, name+"-host"), Device: filepath.Join(dir, name+"-device"), done: make(chan struct{})}
	os.Remove(p.Host)
	os.Remove(p.Device)
	p.cmd = exec.Command(bin, "pty,raw,echo=0,link="+p.Host, "pty,raw,echo=0,link="+p.Device)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("ptypair: start socat: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, e1 := os.Stat(p.Host)
		_, e2 := os.Stat(p.Device)
		if e1 == nil && e2 == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, errors.New("ptypair: socat exited before making its links")
		case <-ctx.Done():
			p.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, errors.New("ptypair: socat made no links within 10s")
		}
	}
}

// Close stops socat (both ends go away, like an unplugged cable).
func (p *Pair) Close() error {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	<-p.done
	os.Remove(p.Host)
	os.Remove(p.Device)
	return nil
}
