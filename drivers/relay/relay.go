package relay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/serialport"
)

// ErrNoAnswer is returned when a board that should answer stays silent.
var ErrNoAnswer = errors.New("relay: no answer from the board")

// ErrWrongState is returned when the board answers with the other state.
var ErrWrongState = errors.New("relay: board reports the wrong state")

// Status is the relay's last known condition.
type Status struct {
	OK     bool
	Closed bool
	Detail string // English, for logs and technicians
	Since  time.Time
}

// Relay is one channel of a relay board on a serial port. Its methods are safe for
// concurrent use; commands go out one at a time. The port is opened on first use and
// reopened after it fails, so a board unplugged and plugged back recovers by itself.
type Relay struct {
	path    string
	baud    int
	board   Board
	timeout time.Duration
	// OnStatus, when set, is called (outside the lock) whenever OK changes.
	onStatus func(Status)

	mu        sync.Mutex
	port      serialport.Port // never select()ed on: reopened at any descriptor number
	status    Status
	release   Timer
	afterFunc func(time.Duration, func()) Timer
	gen       uint64 // pulse generation: a newer pulse supersedes an older one's release
	want      bool   // the state last commanded
}

// Options configure Open.
type Options struct {
	// OnStatus is told when the relay goes into or out of fault.
	OnStatus func(Status)
	// AfterFunc schedules a pulse's release (time.AfterFunc when nil); tests give a
	// timer they fire themselves.
	AfterFunc func(d time.Duration, f func()) Timer
}

// Timer is a scheduled release that can be cancelled (*time.Timer is one).
type Timer interface{ Stop() bool }

// Open prepares the relay a lane's config describes. It does not fail when the port is
// absent: the relay starts in fault and recovers when the board appears (Probe).
func Open(c config.GateRelay, o Options) (*Relay, error) {
	b, err := BoardFor(c)
	if err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 300 * time.Millisecond
	}
	if c.Baud == 0 {
		c.Baud = 9600
	}
	r := &Relay{path: c.Port, baud: c.Baud, board: b, timeout: c.Timeout, onStatus: o.OnStatus,
		status: Status{OK: true, Since: time.Now()}, afterFunc: o.AfterFunc}
	if r.afterFunc == nil {
		r.afterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	return r, nil
}

// Status is the last known condition.
func (r *Relay) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Pulse closes the relay now (confirmed when the board answers) and releases it after
// d. It returns once the close is on the wire (and confirmed), not after d; a pulse
// during another extends the opening.
func (r *Relay) Pulse(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	err := r.command(ctx, true)
	if err != nil {
		r.want = false // a failed pulse must not be retried later by Probe
		r.mu.Unlock()
		return err
	}
	r.gen++
	gen := r.gen
	if r.release != nil {
		r.release.Stop()
	}
	r.release = r.afterFunc(d, func() {
		r.mu.Lock()
		if r.gen == gen {
			_ = r.command(context.Background(), false)
		}
		r.mu.Unlock()
		r.notify()
	})
	r.mu.Unlock()
	r.notify()
	return nil
}

// Set closes or releases the relay and keeps it so (staff holding a lane open).
func (r *Relay) Set(ctx context.Context, closed bool) error {
	r.mu.Lock()
	r.gen++
	if r.release != nil {
		r.release.Stop()
	}
	err := r.command(ctx, closed)
	r.mu.Unlock()
	r.notify()
	return err
}

// Probe checks the board by sending the state it should be in again (harmless, and it
// finds a vanished port), confirmed by the board's answer when it answers.
func (r *Relay) Probe(ctx context.Context) error {
	r.mu.Lock()
	err := r.command(ctx, r.want)
	r.mu.Unlock()
	r.notify()
	return err
}

// Close releases the relay and closes the port.
func (r *Relay) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	if r.release != nil {
		r.release.Stop()
	}
	if r.port == nil {
		return nil
	}
	_ = r.command(context.Background(), false)
	if r.port == nil {
		return nil
	}
	err := r.port.Close()
	r.port = nil
	return err
}

// command sends a state change and confirms it; r.mu is held.
func (r *Relay) command(ctx context.Context, closed bool) error {
	r.want = closed
	frame := r.board.Release
	if closed {
		frame = r.board.Close
	}
	return r.exchange(ctx, frame, closed)
}

// exchange writes frame (if any), then with an answering board queries the state and
// checks it is want. r.mu is held.
func (r *Relay) exchange(ctx context.Context, frame []byte, want bool) error {
	err := r.exchangeOnce(ctx, frame, want)
	if portFailed(err) && r.port != nil {
		// The port may have gone and come back (replugged): reopen once and retry.
		r.port.Close()
		r.port = nil
		err = r.exchangeOnce(ctx, frame, want)
	}
	if err != nil {
		if portFailed(err) && r.port != nil {
			r.port.Close()
			r.port = nil
		}
		r.setStatus(false, want, err.Error())
		return err
	}
	r.setStatus(true, want, "")
	return nil
}

func (r *Relay) exchangeOnce(ctx context.Context, frame []byte, want bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.port == nil {
		p, err := serialport.Open(r.path, r.baud)
		if err != nil {
			return fmt.Errorf("relay: open %s: %w", r.path, err)
		}
		r.port = p
	}
	if r.board.Confirms() {
		_ = serialport.DiscardInput(r.port)
	}
	if len(frame) > 0 {
		if _, err := r.port.Write(frame); err != nil {
			return fmt.Errorf("relay: write %s: %w", r.path, err)
		}
	}
	if !r.board.Confirms() {
		return nil
	}
	if _, err := r.port.Write(r.board.Query); err != nil {
		return fmt.Errorf("relay: query %s: %w", r.path, err)
	}
	deadline := time.Now().Add(r.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	var buf []byte
	chunk := make([]byte, 64)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w within %v on %s", ErrNoAnswer, r.timeout, r.path)
		}
		if err := r.port.SetReadDeadline(deadline); err != nil {
			return fmt.Errorf("relay: %s: %w", r.path, err)
		}
		n, err := r.port.Read(chunk)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // the loop checks the deadline
		}
		if err != nil {
			return fmt.Errorf("relay: read %s: %w", r.path, err)
		}
		buf = append(buf, chunk[:n]...)
		if len(buf) > maxAnswer {
			buf = buf[len(buf)-maxAnswer:]
		}
		if closed, ok := r.board.answerState(buf); ok {
			if closed != want {
				return fmt.Errorf("%w: want closed=%v", ErrWrongState, want)
			}
			return nil
		}
	}
}

func (r *Relay) setStatus(ok, closed bool, detail string) {
	if ok != r.status.OK {
		r.status.Since = time.Now()
	}
	r.status.OK, r.status.Detail = ok, detail
	if ok {
		r.status.Closed = closed
	}
}

// notify tells OnStatus the current status (it dedups nothing: callers keep the last).
func (r *Relay) notify() {
	if r.onStatus != nil {
		r.onStatus(r.Status())
	}
}

// portFailed says whether err came from the port itself (gone, broken) rather than
// from a board that answered wrongly or not at all.
func portFailed(err error) bool {
	return err != nil && !errors.Is(err, ErrNoAnswer) && !errors.Is(err, ErrWrongState) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
