// Package vpcd plugs a card written in Go into the real PC/SC stack through the
// vsmartcard "vpcd" reader driver: pcscd loads vpcd, vpcd listens on TCP
// (localhost:35963 for reader "Virtual PCD 00 00", 35964 for "… 00 01"), and the card
// side connects to it. Each frame is a 2-byte big-endian length and the payload; a
// 1-byte payload from vpcd is a control code (0x00 power off, 0x01 power on, 0x02
// reset, 0x04 send the ATR), anything longer a command APDU answered with a response
// APDU.
//
// It is a simulator for tests and the demo: it never talks to real cards, and it knows
// nothing of what the card answers.
package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAddr is where vpcd listens for its first virtual reader.
const DefaultAddr = "127.0.0.1:35963"

// ReaderName gives the PC/SC name vpcd gives the reader on a port (35963 → "Virtual
// PCD 00 00", 35964 → "Virtual PCD 00 01"); empty for other ports.
func ReaderName(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	switch port {
	case "35963":
		return "Virtual PCD 00 00"
	case "35964":
		return "Virtual PCD 00 01"
	}
	return ""
}

// Card is the card side: its answer to reset and its APDU processing. Process
// returns a response APDU (at least a status word), or nil when the card has been
// pulled out, which closes the connection.
type Card interface {
	ATR() []byte
	Process(apdu []byte) []byte
}

// Resetter is implemented by cards that drop their session state (secure messaging,
// selected file) on power off and reset, as a real chip does.
type Resetter interface {
	Reset()
}

// Options shape a slot's behaviour for tests and benchmarks.
type Options struct {
	// Delay is added before each response APDU, to model a contactless link.
	Delay time.Duration
	// PullAfter, when > 0, pulls the card out (closes the connection without
	// answering) when the PullAfter-th command APDU arrives.
	PullAfter int
}

// Control codes from vpcd.
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlGetATR   = 0x04
)

// Slot is a card inserted in the vpcd reader. Remove pulls it out.
type Slot struct {
	conn   net.Conn
	done   chan struct{}
	err    error
	once   sync.Once
	apdus  atomic.Int64
	pulled atomic.Bool
}

// Insert connects card to vpcd at addr (the card is "inserted" as soon as the
// connection stands) and serves it until Remove, ctx's end, or vpcd closing the
// connection.
func Insert(ctx context.Context, addr string, card Card, opt Options) (*Slot, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("insert card into vpcd at %s: %w (is pcscd running with vsmartcard-vpcd?)", addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	s := &Slot{conn: conn, done: make(chan struct{})}
	go func() {
		err := s.serve(card, opt)
		if s.pulled.Load() || errors.Is(err, net.ErrClosed) {
			err = nil
		}
		s.err = err
		close(s.done)
	}()
	context.AfterFunc(ctx, func() { s.Remove() })
	return s, nil
}

// Serve inserts card and serves it until ctx ends or vpcd hangs up. It is the
// blocking form of Insert for the `sim card` command.
func Serve(ctx context.Context, addr string, card Card, opt Options) error {
	s, err := Insert(ctx, addr, card, opt)
	if err != nil {
		return err
	}
	select {
	case <-s.Done():
		if s.Err() == nil && ctx.Err() == nil {
			return fmt.Errorf("vpcd at %s closed the connection", addr)
		}
		return s.Err()
	case <-ctx.Done():
		s.Remove()
		return nil
	}
}

// Remove pulls the card out of the reader (closes the connection) and waits until the
// slot has stopped. It is safe to call more than once.
func (s *Slot) Remove() error {
	s.once.Do(func() {
		s.pulled.Store(true)
		s.conn.Close()
	})
	<-s.done
	return s.err
}

// Done is closed when the slot stops serving.
func (s *Slot) Done() <-chan struct{} { return s.done }

// Err is why the slot stopped (nil after Remove); valid once Done is closed.
func (s *Slot) Err() error { return s.err }

// APDUs counts the command APDUs answered so far.
func (s *Slot) APDUs() int64 { return s.apdus.Load() }

func (s *Slot) serve(card Card, opt Options) error {
	buf := make([]byte, 0xFFFF)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(s.conn, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("vpcd closed the connection")
			}
			return fmt.Errorf("read frame header: %w", err)
		}
		// vpcd sends the header and the payload in two writes; ack the header at once
		// or its Nagle holds the payload back for our delayed ACK.
		quickAck(s.conn)
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n == 0 {
			continue
		}
		frame := buf[:n]
		if _, err := io.ReadFull(s.conn, frame); err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		quickAck(s.conn)
		if n == 1 {
			switch frame[0] {
			case ctrlPowerOff, ctrlReset:
				if r, ok := card.(Resetter); ok {
					r.Reset()
				}
			case ctrlPowerOn:
			case ctrlGetATR:
				if err := s.write(card.ATR()); err != nil {
					return err
				}
			}
			continue
		}
		count := s.apdus.Add(1)
		if opt.PullAfter > 0 && count >= int64(opt.PullAfter) {
			s.once.Do(func() {
				s.pulled.Store(true)
				s.conn.Close()
			})
			return nil
		}
		rsp := card.Process(append([]byte(nil), frame...))
		if rsp == nil {
			// The card went away in the middle of the command (a card simulator's
			// pull-out fault): vpcd sees the connection close.
			s.once.Do(func() {
				s.pulled.Store(true)
				s.conn.Close()
			})
			return nil
		}
		if opt.Delay > 0 {
			time.Sleep(opt.Delay)
		}
		if err := s.write(rsp); err != nil {
			return err
		}
	}
}

func (s *Slot) write(payload []byte) error {
	if len(payload) > 0xFFFF {
		return fmt.Errorf("response of %d bytes does not fit a vpcd frame", len(payload))
	}
	frame := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(frame, uint16(len(payload)))
	copy(frame[2:], payload)
	if _, err := s.conn.Write(frame); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}
