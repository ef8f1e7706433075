//go:build !windows

package escpos

import (
	"os"
	"syscall"
)

// openDevice opens a USB printer device (/dev/usb/lp*) non-blocking, so reads and
// writes honour deadlines (a printer that never answers cannot hang a kiosk).
func openDevice(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
}
