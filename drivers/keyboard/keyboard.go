// Package keyboard types text into whatever window and field has the keyboard focus,
// the way a vendor's ID reader does: on X11 through the XTEST extension, on Windows
// through SendInput with Unicode key events. Vietnamese arrives intact whatever the
// keyboard layout or input method, because characters the layout lacks are typed as
// Unicode keysyms (X11) or UTF-16 code units (Windows), never as guessed key chords.
//
// It must never decide by itself to type: callers type only when a person asked. It
// never logs what it types.
package keyboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Key is a named key typed between texts: a field separator.
type Key string

// The keys a typing configuration may name.
const (
	KeyTab       Key = "tab"
	KeyEnter     Key = "enter"
	KeyBackspace Key = "backspace"
	KeySpace     Key = "space"
)

// Stroke is one step of typing: a text, or one named key when Text is empty.
type Stroke struct {
	Text string
	Key  Key
}

// Text and Press build strokes.
func Text(s string) Stroke { return Stroke{Text: s} }

// Press is a stroke of one named key.
func Press(k Key) Stroke { return Stroke{Key: k} }

// ParseKey gives the named key for a configuration word ("tab", "enter" …).
func ParseKey(s string) (Key, bool) {
	switch k := Key(strings.ToLower(strings.TrimSpace(s))); k {
	case KeyTab, KeyEnter, KeyBackspace, KeySpace:
		return k, true
	}
	return "", false
}

// Typist types strokes where the focus is. Implementations must type the strokes in
// order, leave no key held down (also on error or cancellation) and restore any
// keyboard mapping they changed.
type Typist interface {
	Type(ctx context.Context, strokes []Stroke) error
	Close() error
}

// ErrNoDisplay means there is no desktop session to type into: no X server reachable
// (DISPLAY unset or refused) or no interactive Windows desktop.
var ErrNoDisplay = errors.New("keyboard: no desktop session to type into")

// Options choose where to type.
type Options struct {
	// Display is the X11 display (":0"); empty: $DISPLAY. Ignored on Windows.
	Display string
}

// Open connects to the desktop: X11 on Linux and other Unix systems, SendInput on
// Windows.
func Open(o Options) (Typist, error) { return open(o) }

// count is the number of characters and keys in strokes (for the typing event).
func count(strokes []Stroke) int {
	n := 0
	for _, s := range strokes {
		if s.Text == "" {
			n++
			continue
		}
		n += len([]rune(s.Text))
	}
	return n
}

// Count is the number of characters and keys strokes type.
func Count(strokes []Stroke) int { return count(strokes) }

func checkStrokes(strokes []Stroke) error {
	for i, s := range strokes {
		if s.Text == "" {
			if _, ok := ParseKey(string(s.Key)); !ok {
				return fmt.Errorf("keyboard: stroke %d: unknown key %q", i, s.Key)
			}
		}
	}
	return nil
}
