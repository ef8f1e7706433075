package keyboard

import (
	"reflect"
	"testing"
)

// A small keymap in the server's layout: keycode 10 a/A, 11 Tab, 12 Shift_L, 13 and 14
// free, 15 Return.
func smallKeymap() Keymap {
	return Keymap{Min: 10, PerCode: 2, Syms: []Keysym{
		'a', 'A',
		symTab, 0,
		symShiftL, 0,
		0, 0,
		0, 0,
		symReturn, 0,
	}}
}

func TestRuneKeysym(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want Keysym
	}{
		{'a', 0x61}, {'Z', 0x5a}, {' ', 0x20}, {'/', 0x2f}, {'\t', symTab}, {'\n', symReturn},
		{'é', 0xe9}, {'Á', 0xc1}, // Latin-1: the code point itself
		{'ễ', 0x01001ec5}, {'Đ', 0x01000110}, {'ắ', 0x01001eaf}, {'ơ', 0x010001a1},
	} {
		if got := RuneKeysym(c.r); got != c.want {
			t.Errorf("%q: %#x, want %#x", c.r, got, c.want)
		}
	}
}

func TestKeymapFindAndSpare(t *testing.T) {
	m := smallKeymap()
	if code, shift, ok := m.Find('a'); !ok || shift || code != 10 {
		t.Fatalf("a: %d %v %v", code, shift, ok)
	}
	if code, shift, ok := m.Find('A'); !ok || !shift || code != 10 {
		t.Fatalf("A: %d %v %v", code, shift, ok)
	}
	if _, _, ok := m.Find('b'); ok {
		t.Fatal("b found on a map without it")
	}
	if got := m.Spare(); !reflect.DeepEqual(got, []int{13, 14}) {
		t.Fatalf("spare %v", got)
	}
}

func TestPlanTyping(t *testing.T) {
	m := smallKeymap()
	// "aAễ<Tab>ễĐ": ễ is bound once and reused, Đ takes the second spare keycode.
	syms := strokeSyms([]Stroke{Text("aAễ"), Press(KeyTab), Text("ễĐ")})
	p, done, err := PlanTyping(m, syms)
	if err != nil || done != len(syms) {
		t.Fatalf("done %d of %d, %v", done, len(syms), err)
	}
	want := []keyPress{{10, false}, {10, true}, {13, false}, {11, false}, {13, false}, {14, false}}
	if !reflect.DeepEqual(p.Presses, want) {
		t.Fatalf("presses %v, want %v", p.Presses, want)
	}
	if !reflect.DeepEqual(p.Bind, map[int]Keysym{13: RuneKeysym('ễ'), 14: RuneKeysym('Đ')}) {
		t.Fatalf("bind %v", p.Bind)
	}

	// Three missing characters, two spare keycodes: the plan covers up to the third.
	syms = strokeSyms([]Stroke{Text("ắaơĐ")})
	p, done, err = PlanTyping(m, syms)
	if err != nil || done != 3 || len(p.Presses) != 3 || len(p.Bind) != 2 {
		t.Fatalf("rounds: done %d presses %v bind %v err %v", done, p.Presses, p.Bind, err)
	}
	p, done, err = PlanTyping(m, syms[done:])
	if err != nil || done != 1 || !reflect.DeepEqual(p.Bind, map[int]Keysym{13: RuneKeysym('Đ')}) {
		t.Fatalf("second round: done %d bind %v err %v", done, p.Bind, err)
	}

	// No spare keycode at all: a clear error, not a silent drop.
	full := Keymap{Min: 10, PerCode: 1, Syms: []Keysym{'a'}}
	if _, _, err := PlanTyping(full, strokeSyms([]Stroke{Text("aễ")})); err == nil {
		t.Fatal("no error for a character that cannot be typed")
	}
}

func TestStrokesChecked(t *testing.T) {
	if err := checkStrokes([]Stroke{Text("x"), Press("f13")}); err == nil {
		t.Fatal("unknown key accepted")
	}
	if n := Count([]Stroke{Text("Đắk Lắk"), Press(KeyTab)}); n != 8 {
		t.Fatalf("count %d", n)
	}
	if k, ok := ParseKey(" Tab "); !ok || k != KeyTab {
		t.Fatalf("ParseKey %q %v", k, ok)
	}
}
