//go:build !windows

package keyboard

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// x11 types through the XTEST extension of an X server.
type x11 struct {
	mu    sync.Mutex
	conn  *xgb.Conn
	root  xproto.Window
	min   xproto.Keycode
	count byte
	// Pauses: after binding spare keycodes (so clients fetch the new mapping before
	// the first key comes), between keys, and before unbinding (so clients have
	// translated the keys with the temporary mapping).
	settle, gap, linger time.Duration
}

// quietXGB stops xgb's own logger (it reports a missing ~/.Xauthority on every
// connection); connection errors still come back as errors.
var quietXGB sync.Once

func quiet() { xgb.Logger = log.New(io.Discard, "", 0) }

func open(o Options) (Typist, error) {
	quietXGB.Do(quiet)
	display := o.Display
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, fmt.Errorf("%w: DISPLAY is not set (start the agent in the desktop session, or set keyboard display)", ErrNoDisplay)
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("%w: X server %s: %v", ErrNoDisplay, display, err)
	}
	if err := xtest.Init(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("keyboard: X server %s has no XTEST extension: %w", display, err)
	}
	setup := xproto.Setup(conn)
	x := &x11{conn: conn, root: setup.DefaultScreen(conn).Root, min: setup.MinKeycode,
		count:  byte(int(setup.MaxKeycode) - int(setup.MinKeycode) + 1),
		settle: 60 * time.Millisecond, gap: 2 * time.Millisecond, linger: 250 * time.Millisecond}
	if _, err := x.keymap(); err != nil {
		conn.Close()
		return nil, err
	}
	return x, nil
}

func (x *x11) keymap() (Keymap, error) {
	r, err := xproto.GetKeyboardMapping(x.conn, x.min, x.count).Reply()
	if err != nil {
		return Keymap{}, fmt.Errorf("keyboard: read the keyboard mapping: %w", err)
	}
	m := Keymap{Min: int(x.min), PerCode: int(r.KeysymsPerKeycode), Syms: make([]Keysym, len(r.Keysyms))}
	for i, s := range r.Keysyms {
		m.Syms[i] = Keysym(s)
	}
	return m, nil
}

// Type types strokes in rounds: each round binds the characters the layout lacks to
// spare keycodes, types, and restores the mapping.
func (x *x11) Type(ctx context.Context, strokes []Stroke) error {
	if err := checkStrokes(strokes); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	syms := strokeSyms(strokes)
	for len(syms) > 0 {
		m, err := x.keymap()
		if err != nil {
			return err
		}
		plan, done, err := PlanTyping(m, syms)
		if err != nil {
			return err
		}
		if err := x.round(ctx, m, plan); err != nil {
			return err
		}
		syms = syms[done:]
	}
	return nil
}

func (x *x11) round(ctx context.Context, m Keymap, p Plan) (err error) {
	shift, _, hasShift := m.Find(symShiftL)
	if len(p.Bind) > 0 {
		defer func() {
			if e := x.restore(m, p.Bind); err == nil {
				err = e
			}
		}()
		for code, sym := range p.Bind {
			row := make([]xproto.Keysym, m.PerCode)
			row[0] = xproto.Keysym(sym)
			if m.PerCode > 1 {
				row[1] = xproto.Keysym(sym)
			}
			if err := xproto.ChangeKeyboardMappingChecked(x.conn, 1, xproto.Keycode(code), byte(m.PerCode), row).Check(); err != nil {
				return fmt.Errorf("keyboard: bind a spare keycode: %w", err)
			}
		}
		if err := sleep(ctx, x.settle); err != nil {
			return err
		}
	}
	for _, k := range p.Presses {
		if err := ctx.Err(); err != nil {
			return err
		}
		if k.shift && hasShift {
			if err := x.fake(xproto.KeyPress, shift); err != nil {
				return err
			}
		}
		err := x.fake(xproto.KeyPress, k.code)
		if err == nil {
			err = x.fake(xproto.KeyRelease, k.code)
		}
		if k.shift && hasShift {
			if e := x.fake(xproto.KeyRelease, shift); err == nil {
				err = e
			}
		}
		if err != nil {
			return err
		}
		if x.gap > 0 {
			time.Sleep(x.gap)
		}
	}
	// A round trip: the server has handled every fake key before the mapping is
	// restored.
	if _, err := xproto.GetInputFocus(x.conn).Reply(); err != nil {
		return fmt.Errorf("keyboard: X server: %w", err)
	}
	return nil
}

func (x *x11) restore(m Keymap, bind map[int]Keysym) error {
	time.Sleep(x.linger)
	var first error
	for code := range bind {
		row := make([]xproto.Keysym, m.PerCode)
		if err := xproto.ChangeKeyboardMappingChecked(x.conn, 1, xproto.Keycode(code), byte(m.PerCode), row).Check(); err != nil && first == nil {
			first = fmt.Errorf("keyboard: restore a spare keycode: %w", err)
		}
	}
	return first
}

func (x *x11) fake(kind byte, code int) error {
	if err := xtest.FakeInputChecked(x.conn, kind, byte(code), 0, x.root, 0, 0, 0).Check(); err != nil {
		return fmt.Errorf("keyboard: XTEST fake input: %w", err)
	}
	return nil
}

func (x *x11) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conn != nil {
		x.conn.Close()
		x.conn = nil
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
