// Package serialport opens a serial line (a USB-CDC scanner or printer, a COM port, a
// pty) so that reads and writes honour deadlines without select(2).
//
// go.bug.st/serial waits for data with select(), whose descriptor set holds 1,024
// descriptors: a port opened while the process holds more (a flood of connections on
// the agent's listener) gets a higher number and the library panics in FDSet.Add. On
// Linux this package opens the line as an ordinary non-blocking file, sets the line
// itself (raw, 8N1, the baud rate) and lets Go's poller (epoll) wait, which has no such
// limit. Elsewhere it uses go.bug.st/serial (Windows waits on overlapped I/O, not
// select()).
//
// It must never be given a path the config did not name: it only opens what it is told.
package serialport

import (
	"io"
	"time"
)

// Port is an open serial line. A read past the read deadline fails with an error
// wrapping os.ErrDeadlineExceeded; Close ends a read or write in progress.
type Port interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	// SetWriteDeadline bounds writes where the platform can (Linux); elsewhere it is
	// accepted and ignored, and closing the port is what ends a blocked write.
	SetWriteDeadline(time.Time) error
}
