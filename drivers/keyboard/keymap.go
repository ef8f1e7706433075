package keyboard

import "fmt"

// Keysym is an X11 keysym.
type Keysym uint32

// Keysyms of the named keys and modifiers.
const (
	symTab       Keysym = 0xff09
	symReturn    Keysym = 0xff0d
	symBackspace Keysym = 0xff08
	symSpace     Keysym = 0x0020
	symShiftL    Keysym = 0xffe1
)

func keySym(k Key) Keysym {
	switch k {
	case KeyTab:
		return symTab
	case KeyEnter:
		return symReturn
	case KeyBackspace:
		return symBackspace
	case KeySpace:
		return symSpace
	}
	return 0
}

// RuneKeysym is the keysym X11 uses for a character: Latin-1 characters are their
// own keysym, every other Unicode character is 0x01000000 plus its code point.
func RuneKeysym(r rune) Keysym {
	switch {
	case r == '\t':
		return symTab
	case r == '\n' || r == '\r':
		return symReturn
	case (r >= 0x20 && r <= 0x7e) || (r >= 0xa0 && r <= 0xff):
		return Keysym(r)
	}
	return Keysym(0x01000000 + r)
}

// Keymap is the server's core keyboard mapping: for each keycode from Min,
// PerCode keysyms (column 0 unshifted, column 1 shifted, …).
type Keymap struct {
	Min     int
	PerCode int
	Syms    []Keysym
}

// Keycodes the map covers.
func (m Keymap) count() int {
	if m.PerCode == 0 {
		return 0
	}
	return len(m.Syms) / m.PerCode
}

// Find gives the keycode that types sym and whether Shift must be held; ok is false
// when no keycode has sym in its first two columns.
func (m Keymap) Find(sym Keysym) (code int, shift bool, ok bool) {
	for i := 0; i < m.count(); i++ {
		row := m.Syms[i*m.PerCode : (i+1)*m.PerCode]
		if len(row) > 0 && row[0] == sym {
			return m.Min + i, false, true
		}
	}
	for i := 0; i < m.count(); i++ {
		row := m.Syms[i*m.PerCode : (i+1)*m.PerCode]
		if len(row) > 1 && row[1] == sym {
			return m.Min + i, true, true
		}
	}
	return 0, false, false
}

// Spare lists the keycodes bound to nothing: free to bind for a moment.
func (m Keymap) Spare() []int {
	var out []int
	for i := 0; i < m.count(); i++ {
		empty := true
		for _, s := range m.Syms[i*m.PerCode : (i+1)*m.PerCode] {
			if s != 0 {
				empty = false
				break
			}
		}
		if empty {
			out = append(out, m.Min+i)
		}
	}
	return out
}

// keyPress is one key to press and release, with Shift held or not.
type keyPress struct {
	code  int
	shift bool
}

// Plan is how to type a run of keysyms on a keymap: the presses in order and the
// spare keycodes to bind first (keycode → keysym), to be unbound after.
type Plan struct {
	Presses []keyPress
	Bind    map[int]Keysym
}

// PlanTyping maps syms onto the keymap. A keysym the keymap lacks is bound to a spare
// keycode for the time of the typing (both columns, so Shift and Caps Lock do not
// matter); when more distinct missing keysyms come than there are spare keycodes, the
// plan stops early and done says how many keysyms it covers, for the caller to type
// in several rounds.
func PlanTyping(m Keymap, syms []Keysym) (p Plan, done int, err error) {
	spare := m.Spare()
	p.Bind = map[int]Keysym{}
	bound := map[Keysym]int{}
	for i, s := range syms {
		if code, shift, ok := m.Find(s); ok {
			p.Presses = append(p.Presses, keyPress{code, shift})
			continue
		}
		code, ok := bound[s]
		if !ok {
			if len(p.Bind) == len(spare) {
				if len(spare) == 0 {
					// The keysym is a character of what is typed (a holder's name): not in the error, which is logged.
					return Plan{}, 0, fmt.Errorf("keyboard: a character is not on the keymap and no keycode is free to bind it")
				}
				return p, i, nil
			}
			code = spare[len(p.Bind)]
			bound[s] = code
			p.Bind[code] = s
		}
		p.Presses = append(p.Presses, keyPress{code, false})
	}
	return p, len(syms), nil
}

// strokeSyms turns strokes into keysyms.
func strokeSyms(strokes []Stroke) []Keysym {
	var out []Keysym
	for _, s := range strokes {
		if s.Text == "" {
			out = append(out, keySym(s.Key))
			continue
		}
		for _, r := range s.Text {
			out = append(out, RuneKeysym(r))
		}
	}
	return out
}
