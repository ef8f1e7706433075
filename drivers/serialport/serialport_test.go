//go:build linux

package serialport

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/serialport/serialporttest"
)

// TestLineAboveSelectLimit opens a pty pair's device end after the process holds more
// than 1,024 descriptors and reads from it with deadlines: go.bug.st/serial panicked
// here (index out of range in FDSet.Add).
func TestLineAboveSelectLimit(t *testing.T) {
	pair, err := ptypair.Open(context.Background(), t.TempDir(), "line")
	if errors.Is(err, ptypair.ErrNoSocat) {
		t.Skip("socat not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	serialporttest.HoldDescriptors(t, 16)
	p, err := Open(pair.Device, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if fd := serialporttest.Descriptor(p.(*os.File)); fd <= serialporttest.SelectSetSize {
		t.Fatalf("the line got descriptor %d, the test needs one above %d", fd, serialporttest.SelectSetSize)
	}
	// Nothing sent yet: the read ends at its deadline.
	p.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := p.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent: %v, want a deadline error", err)
	}
	host, err := os.OpenFile(pair.Host, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if _, err := host.Write([]byte("abc\r")); err != nil {
		t.Fatal(err)
	}
	p.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, 4)
	buf := make([]byte, 8)
	for len(got) < 4 {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "abc\r" { // raw: the CR is not turned into LF
		t.Fatalf("read %q", got)
	}
	if _, err := p.Write([]byte{0x10, 0x04, 0x04}); err != nil {
		t.Fatal(err)
	}
	host.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := host.Read(buf); err != nil || n != 3 || buf[0] != 0x10 {
		t.Fatalf("host read %d %v % x", n, err, buf[:n])
	}
	// Closing the port ends a read in progress.
	p.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := p.Read(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read on a closed port returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read")
	}
}

func TestUnsupportedBaudRefused(t *testing.T) {
	if _, err := Open(os.DevNull, 12345); err == nil {
		t.Fatal("baud 12345 accepted")
	}
}
