// Package scanner reads QR scanners: serial scanners in USB-CDC (virtual COM) mode
// (drivers/serialport: no select(), so any descriptor number is safe), chosen by port path or by USB VID:PID and serial number,
// and on Linux keyboard-wedge scanners through evdev with an exclusive grab. It cuts
// the byte stream into scans (suffix CR, LF, CRLF or none, with an idle-gap fallback),
// validates them as UTF-8 and tags each with its scanner's counter or lane. A scanner
// that is unplugged is reopened with backoff; a scan fully received before the unplug
// is delivered.
//
// Beside the driver, Simulator writes scans into one end of a socat pty pair, the same
// wire a USB-CDC scanner speaks.
//
// It knows nothing of check-ins, dossiers or counters, and never logs a payload: scans
// carry ID numbers and names.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.bug.st/serial/enumerator"

	"motcua-agent/config"
	"motcua-agent/drivers/qrtext"
	"motcua-agent/drivers/serialport"
)

// Scan is one scan as the agent sees it.
type Scan struct {
	Scanner string // the scanner's name
	Tag     string // its counter or lane
	Purpose string // config.ScanFor…
	// Text is the validated payload (personal data: never log it). Empty when Err is set.
	Text string
	// Err says why the bytes were refused (qrpayload.ErrWrongCodePage, ErrOverlong,
	// ErrIncomplete, …); test with errors.Is.
	Err error
	// Bytes is the scan's length on the wire.
	Bytes int
	// Received is when its last byte was read.
	Received time.Time
	// ByIdle: ended by the idle gap rather than the suffix.
	ByIdle bool
}

// State is a scanner's connection state, reported through Reader.OnState.
type State string

const (
	StateOK     State = "ok"
	StateAbsent State = "absent" // not plugged in, or cannot be opened
	StateFault  State = "fault"  // opened but failing
)

// Port is an open scanner: reads return within the read timeout it was opened with,
// with 0 bytes and no error when nothing came.
type Port interface {
	io.ReadCloser
}

// Reader reads one scanner until its context ends.
type Reader struct {
	Config config.Scanner
	// Open opens the port; OpenFor(Config) when nil.
	Open func(ctx context.Context) (Port, error)
	// OnState is told of every change of connection state (may be nil).
	OnState func(state State, detail string)
	// OnRead is told how many bytes each read returned (may be nil): a byte counter for
	// metrics, and how tests know the bytes reached the driver.
	OnRead func(n int)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MinBackoff and MaxBackoff bound the wait between reopen attempts (200ms, 5s).
	MinBackoff, MaxBackoff time.Duration
}

// pollInterval bounds how long one read waits, so idle gaps and cancellation are seen.
func pollInterval(gap time.Duration) time.Duration {
	return min(max(gap/2, 5*time.Millisecond), 50*time.Millisecond)
}

// OpenFor returns the opener for a scanner's config: a serial port by path or by USB
// identity, or (Linux) an evdev keyboard.
func OpenFor(c config.Scanner) func(ctx context.Context) (Port, error) {
	poll := pollInterval(c.IdleGap)
	switch {
	case c.Keyboard != "":
		return func(ctx context.Context) (Port, error) { return OpenKeyboard(c.Keyboard, poll) }
	case c.USB != "":
		return func(ctx context.Context) (Port, error) {
			path, err := FindUSB(enumerator.GetDetailedPortsList, c.USB, c.SerialNumber)
			if err != nil {
				return nil, err
			}
			return OpenSerial(path, c.Baud, poll)
		}
	}
	return func(ctx context.Context) (Port, error) { return OpenSerial(c.Port, c.Baud, poll) }
}

// OpenSerial opens a serial port (or a pty) with a read timeout. The port is reopened
// after every unplug, so its descriptor can be any number the process has free:
// serialport never select()s on it.
func OpenSerial(path string, baud int, readTimeout time.Duration) (Port, error) {
	p, err := serialport.Open(path, baud)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return timedPort{p, readTimeout}, nil
}

// timedPort gives each read the port's timeout: nothing within it is 0 bytes and no
// error, as Port promises.
type timedPort struct {
	serialport.Port
	wait time.Duration
}

func (p timedPort) Read(b []byte) (int, error) {
	if err := p.SetReadDeadline(time.Now().Add(p.wait)); err != nil {
		return 0, err
	}
	n, err := p.Port.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

// FindUSB finds the port of the USB device vidpid ("0c2e:0b61"), and serial number
// when given, among the ports list returns.
func FindUSB(list func(...func(vid, pid string) bool) ([]*enumerator.PortDetails, error), vidpid, serialNumber string) (string, error) {
	vid, pid, ok := strings.Cut(strings.ToLower(vidpid), ":")
	if !ok {
		return "", fmt.Errorf("usb %q: want VID:PID", vidpid)
	}
	ports, err := list()
	if err != nil {
		return "", fmt.Errorf("list serial ports: %w", err)
	}
	var found []string
	for _, p := range ports {
		if !p.IsUSB || strings.ToLower(p.VID) != vid || strings.ToLower(p.PID) != pid {
			continue
		}
		if serialNumber != "" && !strings.EqualFold(p.SerialNumber, serialNumber) {
			continue
		}
		found = append(found, p.Name)
	}
	switch len(found) {
	case 0:
		if serialNumber != "" {
			return "", fmt.Errorf("no USB serial port %s with serial number %s (unplugged?)", vidpid, serialNumber)
		}
		return "", fmt.Errorf("no USB serial port %s (unplugged, or not in USB-COM mode?)", vidpid)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%d USB serial ports are %s (%s): set serial_number to choose one", len(found), vidpid, strings.Join(found, ", "))
}

// Run reads scans into out until ctx ends, reopening the port with backoff whenever it
// fails or goes away. It returns ctx's error.
func (r *Reader) Run(ctx context.Context, out chan<- Scan) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Open == nil {
		r.Open = OpenFor(r.Config)
	}
	minB, maxB := r.MinBackoff, r.MaxBackoff
	if minB <= 0 {
		minB = 200 * time.Millisecond
	}
	if maxB < minB {
		maxB = max(5*time.Second, minB)
	}
	suffix, err := SuffixBytes(r.Config.Suffix)
	if err != nil {
		return err
	}
	backoff := minB
	last := State("")
	setState := func(s State, detail string) {
		if s != last && r.OnState != nil {
			r.OnState(s, detail)
		}
		last = s
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		port, err := r.Open(ctx)
		if err != nil {
			setState(StateAbsent, err.Error())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxB)
			continue
		}
		backoff = minB
		setState(StateOK, "open")
		err = r.read(ctx, port, NewFramer(suffix, r.Config.MaxScan), out)
		port.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		setState(StateAbsent, fmt.Sprintf("read: %v", err))
	}
}

// read reads one open port until it fails or ctx ends.
func (r *Reader) read(ctx context.Context, port Port, f *Framer, out chan<- Scan) error {
	stop := context.AfterFunc(ctx, func() { port.Close() })
	defer stop()
	buf := make([]byte, 4096)
	var lastByte time.Time
	for {
		n, err := port.Read(buf)
		now := r.Now()
		if n > 0 {
			if r.OnRead != nil {
				r.OnRead(n)
			}
			lastByte = now
			for _, fr := range f.Write(buf[:n]) {
				if !r.emit(ctx, fr, now, out) {
					return ctx.Err()
				}
			}
		}
		if err != nil {
			if fr, ok := f.Lost(); ok {
				r.emit(ctx, fr, lastByte, out)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if n == 0 && f.Pending() > 0 && now.Sub(lastByte) >= r.Config.IdleGap {
			if fr, ok := f.Idle(); ok && !r.emit(ctx, fr, lastByte, out) {
				return ctx.Err()
			}
		}
		if n == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (r *Reader) emit(ctx context.Context, fr Frame, at time.Time, out chan<- Scan) bool {
	s := Scan{Scanner: r.Config.Name, Tag: r.Config.Tag(), Purpose: r.Config.Purpose, Received: at,
		ByIdle: fr.ByIdle, Bytes: len(fr.Data), Err: fr.Err}
	if s.Err == nil {
		s.Text, s.Err = qrtext.Text(fr.Data)
		if errors.Is(s.Err, qrtext.ErrEmpty) {
			return true
		}
	}
	select {
	case out <- s:
		return true
	case <-ctx.Done():
		return false
	}
}

// RunAll reads every scanner into out until ctx ends; each scanner's state changes go
// to onState with its name.
func RunAll(ctx context.Context, scanners []config.Scanner, out chan<- Scan, onState func(name string, s State, detail string)) {
	done := make(chan struct{}, len(scanners))
	for _, c := range scanners {
		r := &Reader{Config: c}
		if onState != nil {
			name := c.Name
			r.OnState = func(s State, d string) { onState(name, s, d) }
		}
		go func() { r.Run(ctx, out); done <- struct{}{} }()
	}
	for range scanners {
		<-done
	}
}
