// Package ptypair makes pseudo-terminal pairs with socat: the operating-system path a
// USB-serial device takes, for tests and for the built-in simulators. One end is opened
// by the driver under test by path, the other by the simulator.
//
// It must never be used to reach real devices; it only stands in for them.
package ptypair

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Pair is a running socat joining two pty links, A and B.
type Pair struct {
	A, B string

	mu  sync.Mutex
	cmd *exec.Cmd
	out bytes.Buffer
}

// Available reports whether socat is installed (tests skip without it).
func Available() error {
	if _, err := exec.LookPath("socat"); err != nil {
		return errors.New("socat is not installed (apt-get install socat)")
	}
	return nil
}

// Start makes a pair whose links are dir/name+"-a" and dir/name+"-b".
func Start(dir, name string) (*Pair, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ptypair: %w", err)
	}
	p := &Pair{A: filepath.Join(dir, name+"-a"), B: filepath.Join(dir, name+"-b")}
	return p, p.start()
}

func (p *Pair) start() error {
	if err := Available(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Reset()
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ptypair: start socat: %w", err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, ea := os.Stat(p.A)
		_, eb := os.Stat(p.B)
		if ea == nil && eb == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return fmt.Errorf("ptypair: socat made no links within 10s: %s", p.out.String())
}

// Unplug ends socat: both links vanish and open ends see the device gone, as when a
// USB device is pulled out.
func (p *Pair) Unplug() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
	os.Remove(p.A)
	os.Remove(p.B)
}

// Replug makes a fresh pair at the same links, as when the device is plugged back in.
func (p *Pair) Replug() error {
	p.Unplug()
	return p.start()
}

// Close ends the pair.
func (p *Pair) Close() { p.Unplug() }
