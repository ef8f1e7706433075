//go:build linux

package scanner

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/qrtext"
	"motcua-agent/drivers/serialport/serialporttest"
	"motcua-agent/internal/testkit"
)

const vietCard = "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Hà Nội|20042021"

// rig is one scanner on a socat pty pair with its reader running.
type rig struct {
	t      *testing.T
	pair   *ptypair.Pair
	sim    *Simulator
	out    chan Scan
	suffix []byte
	stateC chan State
	// bytes written by the test and read by the driver, and the driver's reads
	written, read, reads atomic.Int64
}

func newRig(t *testing.T, c config.Scanner) *rig {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed (apt-get install socat): the scanner tests need a pty pair")
	}
	r := &rig{t: t, pair: ptypair.New(t.TempDir(), "scanner"), out: make(chan Scan, 64), stateC: make(chan State, 64)}
	if err := r.pair.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.pair.Stop)
	r.plugSim()
	if c.Name == "" {
		c.Name = "s1"
	}
	c.Port = r.pair.Device
	setDefaultsForTest(&c)
	r.suffix, _ = SuffixBytes(c.Suffix)
	ctx, cancel := context.WithCancel(context.Background())
	rd := &Reader{Config: c, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnState: func(s State, _ string) { r.stateC <- s }, OnRead: func(n int) { r.read.Add(int64(n)); r.reads.Add(1) }}
	done := make(chan struct{})
	go func() { rd.Run(ctx, r.out); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	r.waitState(StateOK)
	return r
}

func setDefaultsForTest(c *config.Scanner) {
	if c.Suffix == "" {
		c.Suffix = config.SuffixCR
	}
	if c.IdleGap == 0 {
		c.IdleGap = 400 * time.Millisecond
		if c.Suffix == config.SuffixNone {
			c.IdleGap = 80 * time.Millisecond
		}
	}
	if c.MaxScan == 0 {
		c.MaxScan = 4096
	}
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.Purpose == "" {
		c.Purpose = config.ScanForCheckin
	}
}

func (r *rig) plugSim() {
	sim, err := OpenSimulator(r.pair)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sim = sim
	r.t.Cleanup(func() { sim.Close() })
}

func (r *rig) write(s string) {
	r.t.Helper()
	if err := r.sim.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
	r.written.Add(int64(len(s)))
}

// drained waits until the reader has read every byte written so far, so an unplug
// cannot race the bytes still in socat.
func (r *rig) drained() {
	r.t.Helper()
	testkit.Eventually(r.t, 10*time.Second, func() bool { return r.read.Load() >= r.written.Load() },
		"the reader to get every byte written (%s)", func() string { return fmt.Sprintf("%d of %d", r.read.Load(), r.written.Load()) })
}

func (r *rig) next() Scan {
	r.t.Helper()
	select {
	case s := <-r.out:
		return s
	case <-time.After(10 * time.Second):
		r.t.Fatal("no scan within 10 s")
	}
	return Scan{}
}

func (r *rig) expect(text string) Scan {
	r.t.Helper()
	s := r.next()
	if s.Err != nil || s.Text != text {
		r.t.Fatalf("got %q (err %v), want %q", s.Text, s.Err, text)
	}
	return s
}

func (r *rig) expectErr(want error) {
	r.t.Helper()
	s := r.next()
	if !errors.Is(s.Err, want) {
		r.t.Fatalf("got %q err %v, want %v", s.Text, s.Err, want)
	}
	if s.Text != "" {
		r.t.Fatal("refused scan carries text")
	}
}

func (r *rig) waitState(want State) {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.stateC:
			if s == want {
				return
			}
		case <-deadline:
			r.t.Fatalf("scanner never became %s", want)
		}
	}
}

func TestEachSuffix(t *testing.T) {
	for _, sfx := range []string{"cr", "lf", "crlf", "none"} {
		t.Run(sfx, func(t *testing.T) {
			r := newRig(t, config.Scanner{Suffix: sfx})
			for _, p := range []string{vietCard, "H40.22-230701-0001", "xin chào"} {
				r.write(p + string(r.suffix))
				s := r.expect(p)
				if s.ByIdle != (sfx == "none") {
					t.Errorf("ByIdle %v with suffix %s", s.ByIdle, sfx)
				}
				if s.Tag != "s1" || s.Bytes != len(p) {
					t.Errorf("tag %q bytes %d", s.Tag, s.Bytes)
				}
			}
		})
	}
}

func TestSplitAndMergedWrites(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "crlf"})
	// One scan in pieces across several reads (well inside the 400 ms idle gap).
	pieces := []string{vietCard[:5], vietCard[5:30], vietCard[30:] + "\r", "\n"}
	before := r.reads.Load()
	for _, p := range pieces {
		r.write(p)
		r.drained() // the driver has read this piece before the next is written
	}
	if n := r.reads.Load() - before; n < int64(len(pieces)) {
		t.Fatalf("the %d pieces arrived in %d reads: the test did not split the scan", len(pieces), n)
	}
	r.expect(vietCard)
	// Three scans in one write.
	r.write("A1-000001\r\nB2-000002\r\nC3-000003\r\n")
	r.expect("A1-000001")
	r.expect("B2-000002")
	r.expect("C3-000003")
	// The suffix itself split across writes.
	before = r.reads.Load()
	r.write("split\r")
	r.drained()
	r.write("\n")
	r.drained()
	if r.reads.Load()-before < 2 {
		t.Fatal("the suffix's two halves arrived in one read")
	}
	r.expect("split")
}

func TestIdleGapFallback(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "cr", IdleGap: 150 * time.Millisecond})
	r.write("no suffix came")
	s := r.expect("no suffix came")
	if !s.ByIdle {
		t.Fatal("not marked as ended by the idle gap")
	}
}

func TestGarbageAndBadScans(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "cr", MaxScan: 4096})
	r.write("Nguy\xd2n V\xe3n\r") // Windows-1258 bytes
	r.expectErr(qrtext.ErrWrongCodePage)
	r.write("0010\x0099012345\r")
	r.expectErr(qrtext.ErrControlBytes)
	r.write(strings.Repeat("Z", 1<<20) + "\r") // a 1 MB scan
	r.expectErr(ErrOverlong)
	r.write("\xff\xfe\x00\x01\x80\r")
	s := r.next()
	if s.Err == nil {
		t.Fatal("garbage accepted")
	}
	// The scanner keeps working after all that.
	r.write(vietCard + "\r")
	r.expect(vietCard)
}

func TestUnplugReplug(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "none", IdleGap: 5 * time.Second})
	// A whole scan (no suffix framing) then the cable is pulled: it is delivered.
	r.write("delivered on unplug")
	r.drained()
	r.pair.Stop()
	s := r.expect("delivered on unplug")
	if !s.ByIdle {
		t.Error("scan ended by unplug should count as ended by the line going quiet")
	}
	r.waitState(StateAbsent)
	// While unplugged the reader retries with backoff; re-plug at the same path.
	time.Sleep(100 * time.Millisecond)
	if err := r.pair.Start(); err != nil {
		t.Fatal(err)
	}
	r.plugSim()
	r.waitState(StateOK)
	r.write("after replug")
	r.drained()
	r.pair.Stop() // ends the scan (suffix none) by unplugging again
	r.expect("after replug")
}

func TestUnplugMidScanIsIncomplete(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "cr", IdleGap: 10 * time.Second})
	r.write("complete\rhalf a sca")
	r.expect("complete")
	r.drained()
	r.pair.Stop()
	r.expectErr(ErrIncomplete)
	r.waitState(StateAbsent)
}

func TestTwoScanners(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	out := make(chan Scan, 64)
	var cfgs []config.Scanner
	var sims []*Simulator
	for i, tag := range []string{"quay-1", "quay-2"} {
		p := ptypair.New(dir, tag)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		sim, err := OpenSimulator(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		sims = append(sims, sim)
		c := config.Scanner{Name: "sc" + string(rune('a'+i)), Counter: tag, Port: p.Device, Suffix: []string{"cr", "crlf"}[i]}
		setDefaultsForTest(&c)
		cfgs = append(cfgs, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { RunAll(ctx, cfgs, out, nil); close(done) }()
	defer func() { cancel(); <-done }()
	want := map[string]int{}
	for i := 0; i < 20; i++ {
		k := i % 2
		payload := "scan-" + cfgs[k].Counter + "-" + string(rune('a'+i))
		sfx, _ := SuffixBytes(cfgs[k].Suffix)
		if err := sims[k].Scan(payload, sfx); err != nil {
			t.Fatal(err)
		}
		want[cfgs[k].Counter+"|"+payload]++
	}
	for i := 0; i < 20; i++ {
		select {
		case s := <-out:
			if s.Err != nil {
				t.Fatal(s.Err)
			}
			key := s.Tag + "|" + s.Text
			if want[key] == 0 {
				t.Fatalf("unexpected scan %q", key)
			}
			want[key]--
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 20 scans arrived", i)
		}
	}
}

// TestReplugAboveSelectLimit re-plugs a scanner while the process holds more than
// 1,024 descriptors (a flood of connections on the agent): the reopened port gets a
// number select() cannot hold, where the old serial library panicked on its first
// read.
func TestReplugAboveSelectLimit(t *testing.T) {
	r := newRig(t, config.Scanner{Suffix: "cr"})
	r.write("before\r")
	r.expect("before")
	r.pair.Stop()
	r.waitState(StateAbsent)
	serialporttest.HoldDescriptors(t, 16)
	if err := r.pair.Start(); err != nil {
		t.Fatal(err)
	}
	r.plugSim()
	r.waitState(StateOK)
	for i := range 5 {
		s := vietCard + string(rune('0'+i))
		r.write(s + "\r")
		r.expect(s)
	}
}
