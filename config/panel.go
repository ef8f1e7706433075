package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CardPanel configures the identity panel: the result of a card read shown at the
// counter where it was read (the counter console, the reception page and the small
// page /identity/panel), and typing its fields into the field that has the focus.
type CardPanel struct {
	// ClearAfter is how long the panel keeps a holder's data in memory and on screen
	// after a read (default 5m); it is never written anywhere.
	ClearAfter time.Duration `yaml:"clear_after"`
	// Typing types the holder's fields where the official's cursor is, on request.
	Typing CardTyping `yaml:"typing"`
}

// CardTyping says what "type into the focused field" types.
type CardTyping struct {
	// Enabled allows typing at all (off by default).
	Enabled bool `yaml:"enabled"`
	// Fields in the order typed: holder fields (id, name, birth, sex, nationality,
	// ethnicity, religion, origin, residence, issued, expiry, old_id) and keys between
	// them (tab, enter, space). Default: id, tab, name, tab, birth.
	Fields []string `yaml:"fields"`
	// Countdown is the pause between the page's button and the typing, for the
	// official to put the cursor into the target field (default 3s).
	Countdown time.Duration `yaml:"countdown"`
	// Display is the X11 display to type on (Linux); default $DISPLAY of the agent.
	Display string `yaml:"display"`
	// Hotkey, when set, types at once from anywhere on the desktop: a function key
	// with optional modifiers ("F9", "ctrl+F8"). Only function keys: any other key is
	// something an official types in forms.
	Hotkey string `yaml:"hotkey"`
	// Counter is whose last read the hotkey types (this PC's counter); default: the
	// counter of the readers when they all serve one, else "1".
	Counter string `yaml:"counter"`
}

// Hotkey is a parsed card.panel.typing.hotkey.
type Hotkey struct {
	F                int // function key number, 1-12
	Ctrl, Alt, Shift bool
}

func (h Hotkey) String() string {
	s := ""
	if h.Ctrl {
		s += "ctrl+"
	}
	if h.Alt {
		s += "alt+"
	}
	if h.Shift {
		s += "shift+"
	}
	return s + "F" + strconv.Itoa(h.F)
}

// ParseHotkey reads "F9", "ctrl+F9", "ctrl+alt+F12"…
func ParseHotkey(s string) (Hotkey, error) {
	var h Hotkey
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "+")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if i < len(parts)-1 {
			switch p {
			case "ctrl", "control":
				h.Ctrl = true
			case "alt":
				h.Alt = true
			case "shift":
				h.Shift = true
			default:
				return Hotkey{}, fmt.Errorf("unknown modifier %q: want ctrl, alt or shift", p)
			}
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(p, "f"))
		if !strings.HasPrefix(p, "f") || err != nil || n < 1 || n > 12 {
			return Hotkey{}, fmt.Errorf("the key must be a function key F1-F12, not %q", p)
		}
		h.F = n
	}
	return h, nil
}

// TypingHolderFields and TypingKeys are the words typing.fields may use.
var (
	TypingHolderFields = []string{"id", "name", "birth", "sex", "nationality", "ethnicity", "religion", "origin",
		"residence", "issued", "expiry", "old_id"}
	TypingKeys = []string{"tab", "enter", "space"}
)

func (c *CardPanel) setDefaults(readers []CardReader) {
	if c.Typing.Counter == "" {
		c.Typing.Counter = "1"
		if len(readers) > 0 {
			c.Typing.Counter = readers[0].Counter
			for _, r := range readers {
				if r.Counter != readers[0].Counter {
					c.Typing.Counter = "1"
				}
			}
		}
	}
	if c.ClearAfter == 0 {
		c.ClearAfter = 5 * time.Minute
	}
	if c.Typing.Fields == nil {
		c.Typing.Fields = []string{"id", "tab", "name", "tab", "birth"}
	}
	if c.Typing.Countdown == 0 {
		c.Typing.Countdown = 3 * time.Second
	}
	for i, f := range c.Typing.Fields {
		c.Typing.Fields[i] = strings.ToLower(strings.TrimSpace(f))
	}
}

func (c *CardPanel) validate(p *Problems, path string) {
	if c.ClearAfter < 10*time.Second || c.ClearAfter > time.Hour {
		p.Add(path+".clear_after", "must be between 10s and 1h, not %s", c.ClearAfter)
	}
	t := c.Typing
	if t.Countdown < 0 || t.Countdown > 30*time.Second {
		p.Add(path+".typing.countdown", "must be between 0s and 30s, not %s", t.Countdown)
	}
	holder := 0
	for i, f := range t.Fields {
		switch {
		case contains(TypingHolderFields, f):
			holder++
		case contains(TypingKeys, f):
		default:
			p.Add(fmt.Sprintf("%s.typing.fields[%d]", path, i), "unknown field %q: want one of %s, or a key: %s", f,
				strings.Join(TypingHolderFields, ", "), strings.Join(TypingKeys, ", "))
		}
	}
	if t.Hotkey != "" {
		if _, err := ParseHotkey(t.Hotkey); err != nil {
			p.Add(path+".typing.hotkey", "%v (for example: F9 or ctrl+F9)", err)
		}
	}
	if t.Enabled && holder == 0 {
		p.Add(path+".typing.fields", "typing is enabled but no holder field is listed (for example: [id, tab, name, tab, birth])")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
