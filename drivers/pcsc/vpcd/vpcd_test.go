package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// reader plays vpcd's side of the wire on a loopback listener.
type reader struct {
	t    *testing.T
	conn net.Conn
}

func listen(t *testing.T) (net.Listener, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, ln.Addr().String()
}

func accept(t *testing.T, ln net.Listener) *reader {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &reader{t: t, conn: c}
}

// send writes header and payload separately, as vpcd does.
func (r *reader) send(b []byte) {
	var h [2]byte
	binary.BigEndian.PutUint16(h[:], uint16(len(b)))
	r.conn.Write(h[:])
	r.conn.Write(b)
}

func (r *reader) recv() ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r.conn, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(h[:]))
	_, err := io.ReadFull(r.conn, b)
	return b, err
}

type testCard struct {
	resets atomic.Int32
	gone   atomic.Bool
}

func (c *testCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *testCard) Reset()      { c.resets.Add(1) }
func (c *testCard) Process(apdu []byte) []byte {
	if c.gone.Load() {
		return nil
	}
	return append(append([]byte{}, apdu[1:2]...), 0x90, 0x00)
}

func TestWire(t *testing.T) {
	ln, addr := listen(t)
	card := &testCard{}
	slot, err := Insert(context.Background(), addr, card, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := accept(t, ln)
	r.send([]byte{ctrlGetATR})
	if atr, err := r.recv(); err != nil || !bytes.Equal(atr, card.ATR()) {
		t.Fatalf("ATR %X %v", atr, err)
	}
	r.send([]byte{ctrlPowerOn})
	r.send([]byte{ctrlReset})
	r.send([]byte{ctrlPowerOff})
	r.send([]byte{0x00, 0xB0, 0x00, 0x00, 0x04})
	if rsp, err := r.recv(); err != nil || !bytes.Equal(rsp, []byte{0xB0, 0x90, 0x00}) {
		t.Fatalf("response %X %v", rsp, err)
	}
	if card.resets.Load() != 2 || slot.APDUs() != 1 {
		t.Fatalf("resets %d, APDUs %d", card.resets.Load(), slot.APDUs())
	}
	// The card goes silent: the connection closes, as a pulled card looks to vpcd.
	card.gone.Store(true)
	r.send([]byte{0x00, 0xB0, 0x00, 0x00, 0x04})
	if _, err := r.recv(); err == nil {
		t.Fatal("a silent card still answered")
	}
	<-slot.Done()
	if slot.Err() != nil {
		t.Fatalf("pulled card: %v", slot.Err())
	}
}

func TestPullAfterAndRemove(t *testing.T) {
	ln, addr := listen(t)
	slot, err := Insert(context.Background(), addr, &testCard{}, Options{PullAfter: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := accept(t, ln)
	r.send([]byte{0x00, 0xA4, 0x00, 0x00})
	if _, err := r.recv(); err != nil {
		t.Fatal(err)
	}
	r.send([]byte{0x00, 0xA4, 0x00, 0x00})
	if _, err := r.recv(); err == nil {
		t.Fatal("answered after PullAfter")
	}
	slot.Remove()

	// Remove while idle; vpcd closing the connection is an error for Serve.
	slot, err = Insert(context.Background(), addr, &testCard{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = accept(t, ln)
	if err := slot.Remove(); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := r.recv(); err == nil {
		t.Fatal("connection still open after Remove")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, addr, &testCard{}, Options{}) }()
	r = accept(t, ln)
	r.conn.Close()
	if err := <-errc; err == nil {
		t.Fatal("Serve returned nil when vpcd hung up")
	}
}

func TestReaderName(t *testing.T) {
	if ReaderName("127.0.0.1:35963") != "Virtual PCD 00 00" || ReaderName("localhost:35964") != "Virtual PCD 00 01" || ReaderName("x:1") != "" {
		t.Fatal("reader names")
	}
}
