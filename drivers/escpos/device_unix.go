//go:build !windows

package escpos

import (
	"os"
	"syscall"
)

// openDevice opens a serial port or /dev/usb/lp* non-blocking, so reads and writes
// honour deadlines (a printer that never answers cannot hang a kiosk). The line speed
// is the port's current one: set it once with stty, or in the device's udev rule.
func openDevice(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
}
