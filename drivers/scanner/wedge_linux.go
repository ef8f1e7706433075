//go:build linux

package scanner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Keyboard-wedge scanners on Linux.
//
// A scanner in keyboard mode types its scans as key presses; read from the terminal or
// a window it would leak into whatever has focus, and Vietnamese letters are lost
// through keyboard layouts and Telex input methods (prefer USB-COM mode). Here the
// scanner's evdev device is opened and grabbed exclusively (EVIOCGRAB), so its keys
// reach only the agent; key codes are turned back into ASCII with a US layout and
// Enter becomes CR, and the result goes through the same framing as a serial scanner.
//
// The agent's user needs read access to the device. Give it with a udev rule that
// matches the scanner and puts it in a group the service user belongs to, e.g.
// /etc/udev/rules.d/70-motcua-scanner.rules:
//
//	SUBSYSTEM=="input", ATTRS{idVendor}=="0c2e", ATTRS{idProduct}=="0b61", GROUP="motcua", MODE="0640", SYMLINK+="motcua-scanner-%n"
//
// then `usermod -aG motcua motcua-agent` and `udevadm control --reload && udevadm
// trigger`. Configure `keyboard: /dev/input/by-id/usb-…-event-kbd` (stable across
// sockets) on the scanner.

const eviocgrab = 0x40044590 // _IOW('E', 0x90, int)

type inputEvent struct {
	Time  unix.Timeval
	Type  uint16
	Code  uint16
	Value int32
}

const (
	evKey      = 1
	keyLShift  = 42
	keyRShift  = 54
	keyEnter   = 28
	keyKPEnter = 96
)

// usLayout maps key codes to (unshifted, shifted) ASCII.
var usLayout = func() map[uint16][2]byte {
	m := map[uint16][2]byte{}
	rows := []struct {
		first      uint16
		plain, sft string
	}{
		{2, "1234567890-=", "!@#$%^&*()_+"},
		{16, "qwertyuiop[]", "QWERTYUIOP{}"},
		{30, "asdfghjkl;'`", "ASDFGHJKL:\"~"},
		{43, "\\zxcvbnm,./", "|ZXCVBNM<>?"},
	}
	for _, r := range rows {
		for i := range len(r.plain) {
			m[r.first+uint16(i)] = [2]byte{r.plain[i], r.sft[i]}
		}
	}
	m[57] = [2]byte{' ', ' '}
	m[15] = [2]byte{'\t', '\t'}
	return m
}()

// keyboard is a grabbed evdev device read as a byte stream.
type keyboard struct {
	f       *os.File
	timeout time.Duration
	shift   int
	pending []byte
	raw     []byte
}

// OpenKeyboard opens an evdev device and grabs it exclusively.
func OpenKeyboard(path string, readTimeout time.Duration) (Port, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open keyboard %s: %w (see the udev rule in drivers/scanner)", path, err)
	}
	if err := unix.IoctlSetInt(fd, eviocgrab, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("grab keyboard %s: %w (another program holds it?)", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	return &keyboard{f: f, timeout: readTimeout, raw: make([]byte, 64*int(unsafe.Sizeof(inputEvent{})))}, nil
}

func (k *keyboard) Read(p []byte) (int, error) {
	for len(k.pending) == 0 {
		_ = k.f.SetReadDeadline(time.Now().Add(k.timeout))
		n, err := k.f.Read(k.raw)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		k.decode(k.raw[:n])
		if len(k.pending) == 0 {
			return 0, nil
		}
	}
	n := copy(p, k.pending)
	k.pending = k.pending[n:]
	return n, nil
}

func (k *keyboard) decode(b []byte) {
	size := int(unsafe.Sizeof(inputEvent{}))
	off := size - 8 // type, code, value follow the timeval
	for ; len(b) >= size; b = b[size:] {
		typ := binary.NativeEndian.Uint16(b[off:])
		code := binary.NativeEndian.Uint16(b[off+2:])
		val := int32(binary.NativeEndian.Uint32(b[off+4:]))
		if typ != evKey {
			continue
		}
		switch code {
		case keyLShift, keyRShift:
			if val == 1 {
				k.shift++
			} else if val == 0 && k.shift > 0 {
				k.shift--
			}
			continue
		}
		if val != 1 {
			continue
		}
		if code == keyEnter || code == keyKPEnter {
			k.pending = append(k.pending, '\r')
			continue
		}
		if c, ok := usLayout[code]; ok {
			if k.shift > 0 {
				k.pending = append(k.pending, c[1])
			} else {
				k.pending = append(k.pending, c[0])
			}
		}
	}
}

func (k *keyboard) Close() error {
	_ = unix.IoctlSetInt(int(k.f.Fd()), eviocgrab, 0)
	return k.f.Close()
}
