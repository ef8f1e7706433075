package display

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Board is a call display or LED board on a line (a serial port): each call is one line
// made from a format where {number} and {counter} are replaced, e.g. the default
// "CALL 1023 3\r\n". Calls queue up and are written in order, so a slow board never
// holds up a counter and two calls never interleave.
type Board struct {
	format string
	open   func() (io.WriteCloser, error)
	calls  chan call
	// OnError is told of each failed write (health); may be nil.
	OnError func(error)
	// OnWrite is told of each line written; may be nil.
	OnWrite func(line string)
}

// NewBoard makes a board that opens its line with open for each burst of calls.
func NewBoard(format string, open func() (io.WriteCloser, error)) *Board {
	return &Board{format: format, open: open, calls: make(chan call, 64)}
}

// Line formats one call. Only digits, letters, spaces and the format's own bytes reach
// the board.
func (b *Board) Line(number int, counter string) string {
	var c strings.Builder
	for _, r := range counter {
		if (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') {
			c.WriteRune(r)
		}
	}
	return strings.NewReplacer("{number}", fmt.Sprint(number), "{counter}", c.String()).Replace(b.format)
}

type call struct {
	number  int
	counter string
}

// Call queues a call; when 64 calls are already waiting it drops this one rather than
// block the counter, and reports false.
func (b *Board) Call(number int, counter string) bool {
	select {
	case b.calls <- call{number, counter}:
		return true
	default:
		return false
	}
}

// Run writes queued calls until ctx ends.
func (b *Board) Run(ctx context.Context) {
	var w io.WriteCloser
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-b.calls:
			line := b.Line(c.number, c.counter)
			if w == nil {
				var err error
				if w, err = b.open(); err != nil {
					b.fail(fmt.Errorf("display: open line: %w", err))
					w = nil
					continue
				}
			}
			if _, err := io.WriteString(w, line); err != nil {
				b.fail(fmt.Errorf("display: write: %w", err))
				w.Close()
				w = nil
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if b.OnWrite != nil {
				b.OnWrite(line)
			}
		}
	}
}

func (b *Board) fail(err error) {
	if b.OnError != nil {
		b.OnError(err)
	}
}
