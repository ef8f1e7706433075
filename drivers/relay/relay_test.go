package relay

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/serialport/serialporttest"
)

// pair is a pty pair standing in for the board's USB-serial port: the relay driver
// opens Device, the board simulator Host.
func pair(t *testing.T, name string) *ptypair.Pair {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	p := ptypair.New(t.TempDir(), name)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func waitCommand(t *testing.T, s *Simulator, closed bool) Command {
	t.Helper()
	select {
	case c := <-s.Commands():
		if c.Closed != closed {
			t.Fatalf("board got closed=%v, want %v", c.Closed, closed)
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("board got no command (want closed=%v)", closed)
	}
	return Command{}
}

func TestLCUSFrames(t *testing.T) {
	if got := LCUS(1, true); !bytes.Equal(got, []byte{0xA0, 0x01, 0x01, 0xA2}) {
		t.Fatalf("close ch1 = % X", got)
	}
	if got := LCUS(1, false); !bytes.Equal(got, []byte{0xA0, 0x01, 0x00, 0xA1}) {
		t.Fatalf("release ch1 = % X", got)
	}
	if got := LCUS(2, true); !bytes.Equal(got, []byte{0xA0, 0x02, 0x01, 0xA3}) {
		t.Fatalf("close ch2 = % X", got)
	}
}

func TestBoardForCustomOverrides(t *testing.T) {
	b, err := BoardFor(config.GateRelay{Board: config.RelayCustom, Close: "55 01", Release: "0x55,0x00",
		Query: "55 FF", AnswerClosed: "AA 01", AnswerReleased: "AA 00"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Close, []byte{0x55, 1}) || !bytes.Equal(b.Release, []byte{0x55, 0}) || !b.Confirms() {
		t.Fatalf("board = %+v", b)
	}
	if _, err := BoardFor(config.GateRelay{Board: config.RelayCustom, Close: "55"}); err == nil {
		t.Fatal("a custom board without a release sequence was accepted")
	}
	if _, err := BoardFor(config.GateRelay{Board: config.RelayCustom, Close: "5", Release: "00"}); err == nil {
		t.Fatal("odd hex was accepted")
	}
}

// manualTimer is a release the test fires itself.
type manualTimer struct {
	d    time.Duration
	fire func()
}

func (m *manualTimer) Stop() bool { return true }

func TestLCUSPulseClosesThenReleases(t *testing.T) {
	p := pair(t, "lcus")
	timers := make(chan *manualTimer, 1)
	r, err := Open(config.GateRelay{Port: p.Device, Board: config.RelayLCUS, Channel: 1}, Options{
		AfterFunc: func(d time.Duration, f func()) Timer { m := &manualTimer{d, f}; timers <- m; return m }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := BoardFor(config.GateRelay{Board: config.RelayLCUS, Channel: 1})
	sim, err := Simulate(p.Host, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if err := r.Pulse(context.Background(), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitCommand(t, sim, true)
	release := <-timers
	if release.d != 50*time.Millisecond {
		t.Fatalf("release scheduled after %v, pulse is 50ms", release.d)
	}
	select {
	case c := <-sim.Commands():
		t.Fatalf("board got %+v before the pulse ended", c)
	default:
	}
	release.fire()
	waitCommand(t, sim, false)
}

func TestAnsweringBoardConfirmsAndFaultsWhenSilent(t *testing.T) {
	p := pair(t, "km")
	var last Status
	statuses := make(chan Status, 100)
	cfg := config.GateRelay{Port: p.Device, Board: config.RelayKMTronic, Channel: 1, Timeout: time.Second}
	r, err := Open(cfg, Options{OnStatus: func(s Status) { statuses <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := BoardFor(cfg)
	sim, err := Simulate(p.Host, b)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := context.Background()
	if err := r.Pulse(ctx, time.Hour); err != nil {
		t.Fatalf("confirmed pulse: %v", err)
	}
	if !sim.Closed() {
		t.Fatal("board not closed after a confirmed pulse")
	}
	sim.Silence(true)
	err = r.Set(ctx, false)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("silent board: err = %v, want ErrNoAnswer", err)
	}
	if r.Status().OK {
		t.Fatal("status still OK after the board stopped answering")
	}
	sim.Silence(false)
	if err := r.Probe(ctx); err != nil {
		t.Fatalf("probe after the board answers again: %v", err)
	}
	for len(statuses) > 0 {
		last = <-statuses
	}
	if !last.OK || !r.Status().OK {
		t.Fatalf("relay did not recover: %+v", r.Status())
	}
}

// plugged opens a relay of board on a pty pair with a simulated board on the far end,
// and releases it once.
func plugged(t *testing.T, name, board string) (*ptypair.Pair, *Relay, Board, *Simulator) {
	t.Helper()
	p := pair(t, name)
	cfg := config.GateRelay{Port: p.Device, Board: board, Channel: 1, Timeout: time.Second}
	r, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	b, _ := BoardFor(cfg)
	sim, err := Simulate(p.Host, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	waitCommand(t, sim, false)
	return p, r, b, sim
}

// replug starts the pair again with a new simulated board on it.
func replug(t *testing.T, p *ptypair.Pair, b Board) *Simulator {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	sim, err := Simulate(p.Host, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func TestUnpluggedRelayFaultsAndRecovers(t *testing.T) {
	p, r, b, sim := plugged(t, "plug", config.RelayLCUS)
	ctx := context.Background()
	sim.Close()
	p.Stop()
	if err := r.Pulse(ctx, time.Millisecond); err == nil {
		t.Fatal("pulse on an unplugged board succeeded")
	}
	if r.Status().OK {
		t.Fatal("status OK with the port gone")
	}
	sim2 := replug(t, p, b)
	if err := r.Probe(ctx); err != nil {
		t.Fatalf("probe after replug: %v", err)
	}
	waitCommand(t, sim2, false)
	if !r.Status().OK {
		t.Fatal("not OK after replug")
	}
}

// FuzzAnswerState feeds arbitrary bytes from a board as its answer: never a panic, and
// a state only when one of the two answers is in the bytes.
func FuzzAnswerState(f *testing.F) {
	f.Add([]byte{0xFF, 0x01, 0x01})
	f.Add([]byte{0xFF, 0x01, 0x00, 0xFF, 0x01, 0x01})
	f.Add([]byte("CH1:ON\r\n"))
	b, _ := BoardFor(config.GateRelay{Board: config.RelayKMTronic, Channel: 1})
	f.Fuzz(func(t *testing.T, buf []byte) {
		closed, ok := b.answerState(buf)
		hasC, hasR := bytes.Contains(buf, b.AnswerClosed), bytes.Contains(buf, b.AnswerReleased)
		if ok != (hasC || hasR) {
			t.Fatalf("ok=%v for % X", ok, buf)
		}
		if ok && closed && !hasC {
			t.Fatalf("closed without the closed answer in % X", buf)
		}
	})
}

// TestAnsweringBoardReopenedAboveSelectLimit re-plugs a board that answers queries
// while the process holds more than 1,024 descriptors: the port is opened again at a
// number select() cannot hold, where the serial library panicked on the answer's read.
func TestAnsweringBoardReopenedAboveSelectLimit(t *testing.T) {
	p, r, b, sim := plugged(t, "km-high", config.RelayKMTronic)
	ctx := context.Background()
	sim.Close()
	p.Stop()
	if err := r.Set(ctx, false); err == nil {
		t.Fatal("set on an unplugged board succeeded")
	}
	serialporttest.HoldDescriptors(t, 16)
	sim2 := replug(t, p, b)
	for _, want := range []bool{false, true, false} {
		if err := r.Set(ctx, want); err != nil {
			t.Fatalf("set %v after the re-plug: %v", want, err)
		}
		if sim2.Closed() != want {
			t.Fatalf("board closed=%v, want %v", sim2.Closed(), want)
		}
	}
}
