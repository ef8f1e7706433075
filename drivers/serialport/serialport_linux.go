//go:build linux

package serialport

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Open opens the line at path, raw, 8 data bits, no parity, one stop bit, at baud
// (9600 when 0).
func Open(path string, baud int) (Port, error) {
	speed, ok := speeds[baud]
	if baud == 0 {
		speed, ok = unix.B9600, true
	}
	if !ok {
		return nil, fmt.Errorf("serial %s: baud rate %d not supported", path, baud)
	}
	// O_NONBLOCK makes the os package hand the descriptor to the poller, so deadlines
	// work and no select() is ever made on it.
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	raw, err := f.SyscallConn() // not f.Fd(): that would make the descriptor blocking
	if err == nil {
		ctlErr := raw.Control(func(fd uintptr) { err = setLine(int(fd), speed) })
		if ctlErr != nil {
			err = ctlErr
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("serial %s: set line: %w", path, err)
	}
	return f, nil
}

// setLine makes the line raw 8N1 at speed, with no flow control and the modem lines
// ignored (what a scanner or ticket printer on USB-CDC needs).
func setLine(fd int, speed uint32) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

var speeds = map[int]uint32{
	1200: unix.B1200, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600, 19200: unix.B19200,
	38400: unix.B38400, 57600: unix.B57600, 115200: unix.B115200, 230400: unix.B230400,
	460800: unix.B460800, 921600: unix.B921600,
}

// DiscardInput drops what the line has received and nobody has read yet (a late
// answer to an earlier command).
func DiscardInput(p Port) error {
	f, ok := p.(*os.File)
	if !ok {
		return nil
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	ctlErr := raw.Control(func(fd uintptr) { err = unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH) })
	if ctlErr != nil {
		return ctlErr
	}
	return err
}
