package vpcd

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge received data at once. vpcd writes a frame's
// header and payload separately without disabling Nagle's algorithm, so without this
// each command waits for our delayed ACK (~40 ms per APDU). Linux clears the flag
// after use, so it is set again after every read.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
