//go:build !linux

package scanner

import (
	"errors"
	"time"
)

// OpenKeyboard is Linux-only: elsewhere use the scanner's USB-COM mode.
func OpenKeyboard(path string, readTimeout time.Duration) (Port, error) {
	return nil, errors.New("keyboard-wedge scanners are read through evdev on Linux only; set the scanner to USB-COM mode")
}
