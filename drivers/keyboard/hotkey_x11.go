//go:build !windows

package keyboard

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"motcua-agent/config"
)

// ListenHotkey grabs h on the X server's root window and sends on the returned
// channel each time it is pressed and released (after the release, and once the
// modifiers are up, so typing is not mixed with held keys). It stops when ctx ends.
func ListenHotkey(ctx context.Context, o Options, h config.Hotkey) (<-chan struct{}, error) {
	display := o.Display
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, fmt.Errorf("%w: DISPLAY is not set", ErrNoDisplay)
	}
	quietXGB.Do(quiet)
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("%w: X server %s: %v", ErrNoDisplay, display, err)
	}
	setup := xproto.Setup(conn)
	root := setup.DefaultScreen(conn).Root
	x := &x11{conn: conn, min: setup.MinKeycode, count: byte(int(setup.MaxKeycode) - int(setup.MinKeycode) + 1)}
	m, err := x.keymap()
	if err != nil {
		conn.Close()
		return nil, err
	}
	code, _, ok := m.Find(Keysym(0xffbe + h.F - 1)) // XK_F1 is 0xffbe
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("keyboard: hotkey %s is not on this keyboard's map", h)
	}
	var mods uint16
	if h.Ctrl {
		mods |= xproto.ModMaskControl
	}
	if h.Alt {
		mods |= xproto.ModMask1
	}
	if h.Shift {
		mods |= xproto.ModMaskShift
	}
	// The same combination with Caps Lock and Num Lock (Mod2) on or off.
	for _, extra := range []uint16{0, xproto.ModMaskLock, xproto.ModMask2, xproto.ModMaskLock | xproto.ModMask2} {
		if err := xproto.GrabKeyChecked(conn, true, root, mods|extra, xproto.Keycode(code), xproto.GrabModeAsync, xproto.GrabModeAsync).Check(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("keyboard: hotkey %s is taken by another program: %w", h, err)
		}
	}
	out := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	go func() {
		defer close(out)
		for {
			ev, err := conn.WaitForEvent()
			if ev == nil && err == nil {
				return // connection closed
			}
			rel, ok := ev.(xproto.KeyReleaseEvent)
			if !ok || int(rel.Detail) != code {
				continue
			}
			waitModifiersUp(conn, root)
			select {
			case out <- struct{}{}:
			default: // a typing is already asked for
			}
		}
	}()
	return out, nil
}

// waitModifiersUp waits (up to 2 s) until Ctrl, Alt and Shift are released.
func waitModifiersUp(conn *xgb.Conn, root xproto.Window) {
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		r, err := xproto.QueryPointer(conn, root).Reply()
		if err != nil || r.Mask&(xproto.KeyButMaskShift|xproto.KeyButMaskControl|xproto.KeyButMaskMod1) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
