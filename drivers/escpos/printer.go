package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/serialport"
)

// Printer faults, for errors.Is.
var (
	// ErrUnplugged: the device or address could not be opened.
	ErrUnplugged = errors.New("printer not connected")
	// ErrPaperOut: the paper sensor reports no paper.
	ErrPaperOut = errors.New("printer out of paper")
	// ErrBadStatus: the status byte does not have the fixed bits of DLE EOT.
	ErrBadStatus = errors.New("printer status byte malformed")
)

// PaperStatus is the answer to DLE EOT 4 (the paper roll sensor).
type PaperStatus struct {
	NearEnd bool `json:"near_end"`
	Out     bool `json:"out"`
}

// ParsePaperStatus reads the byte a printer answers to DLE EOT 4: bits 1 and 4 are
// always set and bits 0 and 7 clear; bits 2-3 say the roll is near its end, bits 5-6
// that the paper is out.
func ParsePaperStatus(b byte) (PaperStatus, error) {
	if b&0x93 != 0x12 {
		return PaperStatus{}, fmt.Errorf("%w: %#02x", ErrBadStatus, b)
	}
	return PaperStatus{NearEnd: b&0x0C != 0, Out: b&0x60 != 0}, nil
}

// PaperStatusByte is the byte a printer with that status answers (the simulator's side).
func PaperStatusByte(s PaperStatus) byte {
	b := byte(0x12)
	if s.NearEnd {
		b |= 0x0C
	}
	if s.Out {
		b |= 0x60
	}
	return b
}

// conn is an open line to the printer.
type conn interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Printer sends jobs to one configured printer. It opens the line for each job, so a
// printer unplugged and plugged back in works again with no restart.
type Printer struct {
	cfg config.Printer
	mu  sync.Mutex // one job at a time
	// statusWait bounds how long a DLE EOT answer is awaited.
	statusWait time.Duration
}

// New returns a printer for the config section (transport none is refused).
func New(cfg config.Printer) (*Printer, error) {
	switch cfg.Transport {
	case "serial", "usb", "file", "tcp", "windows":
	default:
		return nil, fmt.Errorf("printer: transport %q prints nothing", cfg.Transport)
	}
	return &Printer{cfg: cfg, statusWait: 500 * time.Millisecond}, nil
}

// Width is the printable width in dots of the configured paper.
func (p *Printer) Width() int {
	if p.cfg.PaperWidthMM == 58 {
		return Width58
	}
	return Width80
}

func (p *Printer) open(ctx context.Context) (conn, bool, error) {
	switch p.cfg.Transport {
	case "tcp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", p.cfg.Address)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrUnplugged, err)
		}
		return c.(*net.TCPConn), true, nil
	case "file":
		f, err := os.OpenFile(p.cfg.Device, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrUnplugged, err)
		}
		return f, false, nil
	case "windows":
		c, err := openSpooler(p.cfg.Name)
		return c, false, err
	case "serial":
		// Opened for each job and status check, so its descriptor can be any number the
		// process has free: serialport never select()s on it.
		port, err := serialport.Open(p.cfg.Device, p.cfg.Baud)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrUnplugged, err)
		}
		return port, true, nil
	default: // usb: a character device, opened non-blocking so deadlines work
		f, err := openDevice(p.cfg.Device)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrUnplugged, err)
		}
		return f, true, nil
	}
}

// Status asks the printer for its paper status (DLE EOT 4). A printer or transport
// that cannot answer gives an error wrapping os.ErrDeadlineExceeded or ErrUnplugged.
func (p *Printer) Status(ctx context.Context) (PaperStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, readable, err := p.open(ctx)
	if err != nil {
		return PaperStatus{}, err
	}
	defer c.Close()
	if !readable {
		return PaperStatus{}, errors.New("printer: this transport cannot report status")
	}
	return p.status(c)
}

func (p *Printer) status(c conn) (PaperStatus, error) {
	if err := c.SetWriteDeadline(time.Now().Add(p.statusWait)); err != nil {
		return PaperStatus{}, fmt.Errorf("printer status: %w", err)
	}
	if _, err := c.Write([]byte{dle, eot, 4}); err != nil {
		return PaperStatus{}, fmt.Errorf("printer status: send: %w", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(p.statusWait)); err != nil {
		return PaperStatus{}, fmt.Errorf("printer status: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return PaperStatus{}, fmt.Errorf("printer status: read: %w", err)
	}
	return ParsePaperStatus(b[0])
}

// Print sends one job. Where the transport can read, the paper status is asked first;
// out of paper refuses the job (the caller shows the number on screen instead), no
// answer at all is not a fault (many printers keep status reporting off).
func (p *Printer) Print(ctx context.Context, job []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, readable, err := p.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if readable {
		st, err := p.status(c)
		switch {
		case err == nil && st.Out:
			return ErrPaperOut
		case errors.Is(err, ErrBadStatus):
			return fmt.Errorf("printer: %w", err)
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(dl)
	} else {
		_ = c.SetWriteDeadline(time.Time{})
	}
	// A serial write cannot carry a deadline and a printer holding flow control can
	// block it: closing the line when ctx ends is what unblocks it.
	done := make(chan error, 1)
	go func() { _, err := c.Write(job); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("printer: write: %w", err)
		}
		return nil
	case <-ctx.Done():
		c.Close()
		<-done
		return fmt.Errorf("printer: write: %w", ctx.Err())
	}
}
