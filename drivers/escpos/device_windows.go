//go:build windows

package escpos

import "os"

// openDevice opens a USB printer port (e.g. \\.\USB001).
func openDevice(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR, 0)
}
