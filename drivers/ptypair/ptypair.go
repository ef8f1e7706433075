// Package ptypair makes a connected pair of pseudo-terminals with socat: Device for the
// agent's driver (opened by path exactly as a COM port is) and Host for the simulator of
// the device. Stop is an unplug (both ends vanish); Start again is a re-plug at the same
// paths. It is how the demo and the tests run serial devices without hardware; it must
// never be used to reach a real device. socat never outlives the process that started
// it, even one killed with SIGKILL (Linux).
package ptypair

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// ErrNoSocat means socat is not installed.
var ErrNoSocat = errors.New("pty pair: socat not installed")

// Pair is a socat pseudo-terminal pair reachable by the links Device and Host.
type Pair struct {
	Device, Host string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when socat has exited and been waited for
}

// New names a pair in dir (not started): Device is dir/name, Host dir/name.host.
func New(dir, name string) *Pair {
	return &Pair{Device: filepath.Join(dir, name), Host: filepath.Join(dir, name+".host")}
}

// Open names a pair and starts it.
func Open(ctx context.Context, dir, name string) (*Pair, error) {
	p := New(dir, name)
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start runs socat and waits (up to 10 s) for both links.
func (p *Pair) Start() error {
	socat, err := exec.LookPath("socat")
	if err != nil {
		return ErrNoSocat
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("pty pair: already started")
	}
	os.Remove(p.Device) // links a killed socat left behind
	os.Remove(p.Host)
	cmd := exec.Command(socat, "-b65536", "pty,raw,echo=0,link="+p.Device, "pty,raw,echo=0,link="+p.Host)
	done, err := startTied(cmd)
	if err != nil {
		return fmt.Errorf("pty pair: start socat: %w", err)
	}
	p.cmd, p.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, e1 := os.Stat(p.Device)
		_, e2 := os.Stat(p.Host)
		if e1 == nil && e2 == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stopLocked()
	return errors.New("pty pair: socat did not create its links within 10 s")
}

// startTied starts cmd so that it cannot outlive this process, even one killed with
// SIGKILL or crashed (on Linux the kernel signals it when its parent thread ends: that
// thread is held for as long as the command runs). done is closed once it has exited.
func startTied(cmd *exec.Cmd) (done chan struct{}, err error) {
	tieToParent(cmd)
	started := make(chan error, 1)
	done = make(chan struct{})
	go func() {
		defer close(done)
		// The death signal follows the thread that started the command, not the
		// process: a Go thread can end (a goroutine that exits while locked to it), so
		// this goroutine keeps its thread until the command is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		<-done
		return nil, err
	}
	return done, nil
}

// Stop ends socat (an unplug) and removes the links.
func (p *Pair) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

// Close is Stop, for callers that hold the pair as an io.Closer.
func (p *Pair) Close() error {
	p.Stop()
	return nil
}

func (p *Pair) stopLocked() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
	// socat removes its links on a clean exit only; a killed one leaves them.
	os.Remove(p.Device)
	os.Remove(p.Host)
}
