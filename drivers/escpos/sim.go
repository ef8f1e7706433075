package escpos

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
)

// Simulator is a printer at the far end of a line (a pty pair in the demo and in tests):
// it answers DLE EOT 4 with its paper status, collects each job up to the cut and
// decodes it. It speaks the same bytes as a real printer.
type Simulator struct {
	Width int
	// OnJob receives each decoded job (called from Run's goroutine).
	OnJob func(Job)
	// OnError receives streams that do not decode.
	OnError func(error)
	// Paper, when set, is asked for the paper status instead of SetPaper's value.
	Paper func() PaperStatus

	mu    sync.Mutex
	paper PaperStatus
}

// SetPaper sets what the paper sensor reports.
func (s *Simulator) SetPaper(p PaperStatus) {
	s.mu.Lock()
	s.paper = p
	s.mu.Unlock()
}

// Run serves the line until it fails or ctx ends.
func (s *Simulator) Run(ctx context.Context, line io.ReadWriter) error {
	var buf []byte
	chunk := make([]byte, 8192)
	for ctx.Err() == nil {
		n, err := line.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for len(buf) >= 3 && buf[0] == dle && buf[1] == eot {
			if buf[2] == 4 {
				s.mu.Lock()
				st := s.paper
				s.mu.Unlock()
				if s.Paper != nil {
					st = s.Paper()
				}
				b := PaperStatusByte(st)
				if _, werr := line.Write([]byte{b}); werr != nil {
					return werr
				}
			}
			buf = buf[3:]
		}
		if len(buf) > 0 {
			jobs, derr := Decode(buf, s.Width)
			switch {
			case errors.Is(derr, ErrTruncated):
				// wait for the rest
			case derr != nil:
				if s.OnError != nil {
					s.OnError(derr)
				}
				buf = nil
			case len(jobs) > 0 && jobs[len(jobs)-1].Cut:
				for _, j := range jobs {
					if s.OnJob != nil {
						s.OnJob(j)
					}
				}
				buf = nil
			}
		}
		if len(buf) > 1<<22 {
			buf = bytes.Clone(buf[len(buf)-1<<20:])
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
