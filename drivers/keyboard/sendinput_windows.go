//go:build windows

package keyboard

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unicode/utf16"
	"unsafe"
)

var (
	user32        = syscall.NewLazyDLL("user32.dll")
	procSendInput = user32.NewProc("SendInput")
)

const (
	inputKeyboard      = 1
	keyeventfKeyUp     = 0x0002
	keyeventfUnicode   = 0x0004
	vkBack             = 0x08
	vkTab              = 0x09
	vkReturn           = 0x0D
	vkSpace            = 0x20
	maxInputsPerSend   = 64
	pauseBetweenChunks = 5 * time.Millisecond
)

// keybdInput is KEYBDINPUT.
type keybdInput struct {
	vk    uint16
	scan  uint16
	flags uint32
	time  uint32
	extra uintptr
}

// input is INPUT with its union sized as on Windows (MOUSEINPUT is the largest
// member: 8 bytes more than KEYBDINPUT on both 386 and amd64).
type input struct {
	typ uint32
	ki  keybdInput
	_   [8]byte
}

// sendInput types with SendInput: characters as KEYEVENTF_UNICODE events (one per
// UTF-16 code unit), so the keyboard layout and any input method (Unikey, EVKey) play
// no part; named keys as virtual keys.
type sendInput struct{ mu sync.Mutex }

func open(Options) (Typist, error) {
	if err := procSendInput.Find(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDisplay, err)
	}
	return &sendInput{}, nil
}

func vkOf(k Key) uint16 {
	switch k {
	case KeyTab:
		return vkTab
	case KeyEnter:
		return vkReturn
	case KeyBackspace:
		return vkBack
	case KeySpace:
		return vkSpace
	}
	return 0
}

// inputs turns strokes into key-down/key-up pairs.
func inputs(strokes []Stroke) []input {
	var out []input
	for _, s := range strokes {
		if s.Text == "" {
			vk := vkOf(s.Key)
			out = append(out, input{typ: inputKeyboard, ki: keybdInput{vk: vk}},
				input{typ: inputKeyboard, ki: keybdInput{vk: vk, flags: keyeventfKeyUp}})
			continue
		}
		for _, r := range s.Text {
			switch r {
			case '\t', '\n', '\r':
				vk := uint16(vkTab)
				if r != '\t' {
					vk = vkReturn
				}
				out = append(out, input{typ: inputKeyboard, ki: keybdInput{vk: vk}},
					input{typ: inputKeyboard, ki: keybdInput{vk: vk, flags: keyeventfKeyUp}})
				continue
			}
			for _, u := range utf16.Encode([]rune{r}) {
				out = append(out, input{typ: inputKeyboard, ki: keybdInput{scan: u, flags: keyeventfUnicode}},
					input{typ: inputKeyboard, ki: keybdInput{scan: u, flags: keyeventfUnicode | keyeventfKeyUp}})
			}
		}
	}
	return out
}

func (s *sendInput) Type(ctx context.Context, strokes []Stroke) error {
	if err := checkStrokes(strokes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := inputs(strokes)
	for len(in) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(in), maxInputsPerSend)
		sent, _, callErr := procSendInput.Call(uintptr(n), uintptr(unsafe.Pointer(&in[0])), unsafe.Sizeof(in[0]))
		if int(sent) != n {
			// Blocked by UIPI (the focused window runs elevated) or no desktop.
			return fmt.Errorf("keyboard: SendInput sent %d of %d events: %v", sent, n, callErr)
		}
		in = in[n:]
		time.Sleep(pauseBetweenChunks)
	}
	return nil
}

func (s *sendInput) Close() error { return nil }
