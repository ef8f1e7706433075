//go:build !linux

package serialport

import (
	"fmt"
	"os"
	"time"

	"go.bug.st/serial"
)

// Open opens the line at path, 8 data bits, no parity, one stop bit, at baud (9600
// when 0).
func Open(path string, baud int) (Port, error) {
	if baud == 0 {
		baud = 9600
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	return libPort{p}, nil
}

// libPort gives a go.bug.st/serial port deadlines: a read past the deadline fails
// with os.ErrDeadlineExceeded (the library returns no bytes and no error).
type libPort struct{ serial.Port }

func (c libPort) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		return c.SetReadTimeout(serial.NoTimeout)
	}
	return c.SetReadTimeout(max(time.Until(t), time.Millisecond))
}

func (c libPort) SetWriteDeadline(time.Time) error { return nil }

func (c libPort) Read(b []byte) (int, error) {
	n, err := c.Port.Read(b)
	if n == 0 && err == nil {
		return 0, os.ErrDeadlineExceeded
	}
	return n, err
}

// DiscardInput drops what the line has received and nobody has read yet (a late
// answer to an earlier command).
func DiscardInput(p Port) error {
	if lp, ok := p.(libPort); ok {
		return lp.ResetInputBuffer()
	}
	return nil
}
