package relay

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"motcua-agent/drivers/serialport"
)

// Command is one frame the simulated board received.
type Command struct {
	Closed bool
	At     time.Time // when its last byte was read
}

// Simulator is a relay board on the far end of a serial port (a pty in tests and in
// the demo): it reads the board's frames, keeps the relay state and answers queries
// like the real board. Silence makes it stop answering, as a hung board does.
type Simulator struct {
	board    Board
	port     serialport.Port
	commands chan Command
	silent   atomic.Bool
	closed   atomic.Bool
	count    atomic.Int64
	state    atomic.Bool
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

// Simulate opens path and serves board on it until Close.
func Simulate(path string, board Board) (*Simulator, error) {
	p, err := serialport.Open(path, 9600)
	if err != nil {
		return nil, err
	}
	s := &Simulator{board: board, port: p, commands: make(chan Command, 4096), done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Commands delivers every close or release frame received (dropped when full).
func (s *Simulator) Commands() <-chan Command { return s.commands }

// Closed says whether the relay is closed now.
func (s *Simulator) Closed() bool { return s.state.Load() }

// Count is how many command frames arrived.
func (s *Simulator) Count() int64 { return s.count.Load() }

// Silence makes the board stop (true) or resume (false) answering queries.
func (s *Simulator) Silence(on bool) { s.silent.Store(on) }

// Close stops the simulator and closes its port.
func (s *Simulator) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.port.Close()
	<-s.done
	return err
}

func (s *Simulator) serve() {
	defer close(s.done)
	var buf []byte
	chunk := make([]byte, 256)
	for {
		n, err := s.port.Read(chunk)
		now := time.Now()
		if err != nil || (n == 0 && s.closed.Load()) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			frame, closed, kind := s.next(buf)
			if kind == frameNone {
				break
			}
			buf = buf[frame:]
			switch kind {
			case frameClose, frameRelease:
				s.state.Store(closed)
				s.count.Add(1)
				select {
				case s.commands <- Command{Closed: closed, At: now}:
				default:
				}
			case frameQuery:
				if !s.silent.Load() {
					ans := s.board.AnswerReleased
					if s.state.Load() {
						ans = s.board.AnswerClosed
					}
					s.port.Write(ans)
				}
			}
		}
		if len(buf) > 4096 {
			buf = buf[len(buf)-64:]
		}
	}
}

type frameKind int

const (
	frameNone frameKind = iota
	frameClose
	frameRelease
	frameQuery
)

// next finds the earliest known frame in buf; it returns how many bytes to drop.
func (s *Simulator) next(buf []byte) (int, bool, frameKind) {
	best, kind, size := -1, frameNone, 0
	for _, c := range []struct {
		f []byte
		k frameKind
	}{{s.board.Close, frameClose}, {s.board.Release, frameRelease}, {s.board.Query, frameQuery}} {
		if len(c.f) == 0 {
			continue
		}
		if i := bytes.Index(buf, c.f); i >= 0 && (best < 0 || i < best) {
			best, kind, size = i, c.k, len(c.f)
		}
	}
	if best < 0 {
		return 0, false, frameNone
	}
	return best + size, kind == frameClose, kind
}

// Err is why the simulator stopped reading (nil while it runs).
func (s *Simulator) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
