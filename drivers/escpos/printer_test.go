package escpos

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/serialport/serialporttest"
)

func TestParsePaperStatus(t *testing.T) {
	tests := []struct {
		b    byte
		want PaperStatus
		bad  bool
	}{
		{0x12, PaperStatus{}, false},
		{0x1E, PaperStatus{NearEnd: true}, false},
		{0x72, PaperStatus{Out: true}, false},
		{0x7E, PaperStatus{NearEnd: true, Out: true}, false},
		{0x00, PaperStatus{}, true},
		{0x93, PaperStatus{}, true},
	}
	for _, tc := range tests {
		got, err := ParsePaperStatus(tc.b)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("%#x: %+v %v", tc.b, got, err)
		}
		if !tc.bad && PaperStatusByte(got) != tc.b {
			t.Errorf("%#x round trip gives %#x", tc.b, PaperStatusByte(got))
		}
	}
}

func FuzzParsePaperStatus(f *testing.F) {
	f.Add(byte(0x12))
	f.Add(byte(0x72))
	f.Fuzz(func(t *testing.T, b byte) {
		s, err := ParsePaperStatus(b)
		if err != nil {
			return
		}
		if again, err := ParsePaperStatus(PaperStatusByte(s)); err != nil || again != s {
			t.Fatalf("%#x: %+v does not survive a round trip (%+v, %v)", b, s, again, err)
		}
	})
}

func startSim(t *testing.T, line interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
}, width int) (*Simulator, chan Job) {
	jobs := make(chan Job, 4)
	sim := &Simulator{Width: width, OnJob: func(j Job) { jobs <- j }, OnError: func(err error) { t.Errorf("simulator: %v", err) }}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go sim.Run(ctx, line)
	return sim, jobs
}

func waitJob(t *testing.T, jobs chan Job) Job {
	t.Helper()
	select {
	case j := <-jobs:
		return j
	case <-time.After(10 * time.Second):
		t.Fatal("no job reached the printer")
	}
	return Job{}
}

// simulatedLine starts a printer simulator on the host end of a pty pair; the pair's
// Device is the printer's serial port.
func simulatedLine(t *testing.T) (*ptypair.Pair, *Simulator, chan Job) {
	t.Helper()
	pair, err := ptypair.Open(context.Background(), t.TempDir(), "printer")
	if errors.Is(err, ptypair.ErrNoSocat) {
		t.Skip("socat not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	dev, err := openDevice(pair.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	sim, jobs := startSim(t, dev, Width58)
	return pair, sim, jobs
}

func TestPrintOverPTY(t *testing.T) {
	pair, sim, jobs := simulatedLine(t)
	p, err := New(config.Printer{Transport: "serial", Device: pair.Device, PaperWidthMM: 58})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(Sample(), Options{Width: Width58, NativeQR: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Print(ctx, b); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, jobs)
	if len(j.Statuses) != 0 || !samePixels(j.Image, decodeOne(t, b, Width58)) {
		t.Fatal("the printer received something else than what was rendered")
	}
	if st, err := p.Status(ctx); err != nil || st.Out {
		t.Fatalf("status %+v %v", st, err)
	}
	sim.SetPaper(PaperStatus{Out: true})
	if err := p.Print(ctx, b); !errors.Is(err, ErrPaperOut) {
		t.Fatalf("paper out: %v", err)
	}
	sim.SetPaper(PaperStatus{})
	pair.Close() // unplugged
	if err := p.Print(ctx, b); !errors.Is(err, ErrUnplugged) {
		t.Fatalf("unplugged: %v", err)
	}
}

func TestPrintOverTCPAndFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	jobs := make(chan Job, 4)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		sim := &Simulator{Width: Width80, OnJob: func(j Job) { jobs <- j }}
		sim.Run(context.Background(), c)
	}()
	b, _ := Render(Sample(), Options{Width: Width80})
	p, _ := New(config.Printer{Transport: "tcp", Address: ln.Addr().String(), PaperWidthMM: 80})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Print(ctx, b); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, jobs); !samePixels(j.Image, decodeOne(t, b, Width80)) {
		t.Fatal("tcp job differs")
	}
	path := filepath.Join(t.TempDir(), "out.bin")
	pf, _ := New(config.Printer{Transport: "file", Device: path, PaperWidthMM: 80})
	if err := pf.Print(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(b) {
		t.Fatal("file job differs")
	}
	dead, _ := New(config.Printer{Transport: "usb", Device: filepath.Join(t.TempDir(), "lp0"), PaperWidthMM: 80})
	if err := dead.Print(ctx, b); !errors.Is(err, ErrUnplugged) {
		t.Fatalf("missing usb device: %v", err)
	}
}

// TestSerialPrinterAboveSelectLimit prints and asks the paper status over a serial
// line opened while the process holds more than 1,024 descriptors (a flood of
// connections on the agent): the serial library's select() panicked there and took the
// agent down.
func TestSerialPrinterAboveSelectLimit(t *testing.T) {
	pair, _, jobs := simulatedLine(t)
	serialporttest.HoldDescriptors(t, 16)
	p, err := New(config.Printer{Transport: "serial", Device: pair.Device, PaperWidthMM: 58, Baud: 19200})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 { // the watch asks every 20 s and every print opens the line again
		if st, err := p.Status(ctx); err != nil || st.Out {
			t.Fatalf("status %+v %v", st, err)
		}
	}
	b, _ := Render(Sample(), Options{Width: Width58, NativeQR: true})
	if err := p.Print(ctx, b); err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, jobs); !samePixels(j.Image, decodeOne(t, b, Width58)) {
		t.Fatal("the printer received something else than what was rendered")
	}
}
