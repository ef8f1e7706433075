//go:build linux

package scanner

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// events encodes key events as the kernel writes them (struct input_event).
func events(keys ...[2]int) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		binary.Write(&b, binary.NativeEndian, inputEvent{Type: evKey, Code: uint16(k[0]), Value: int32(k[1])})
		binary.Write(&b, binary.NativeEndian, inputEvent{Type: 0}) // SYN_REPORT
	}
	return b.Bytes()
}

// TestKeyboardDecode checks the key-code mapping of the evdev reader (the grab itself
// needs a real or uinput device, absent on CI machines without /dev/uinput).
func TestKeyboardDecode(t *testing.T) {
	press := func(code int) [][2]int { return [][2]int{{code, 1}, {code, 0}} }
	var keys [][2]int
	keys = append(keys, [2]int{keyLShift, 1})
	keys = append(keys, press(35)...) // H
	keys = append(keys, [2]int{keyLShift, 0})
	keys = append(keys, press(5)...)  // 4
	keys = append(keys, press(11)...) // 0
	keys = append(keys, press(52)...) // .
	keys = append(keys, [2]int{keyRShift, 1})
	keys = append(keys, press(43)...) // |
	keys = append(keys, [2]int{keyRShift, 0})
	keys = append(keys, press(12)...)  // -
	keys = append(keys, [2]int{30, 2}) // autorepeat of a: ignored
	keys = append(keys, press(keyEnter)...)
	k := &keyboard{}
	k.decode(events(keys...))
	if string(k.pending) != "H40.|-\r" {
		t.Fatalf("decoded %q", k.pending)
	}
}
