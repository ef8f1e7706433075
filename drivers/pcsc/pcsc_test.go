//go:build unix

package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
)

const addr = vpcd.DefaultAddr

var reader = vpcd.ReaderName(addr)

// testATR declares T=0 and T=1 and, in its card capabilities, extended length.
var testATR = withTCK([]byte{0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0x40})

func withTCK(atr []byte) []byte {
	var x byte
	for _, b := range atr[1:] {
		x ^= b
	}
	return append(atr, x)
}

// echoCard answers every command with its header followed by 9000; INS CA answers
// 6110 and hands 16 bytes out through GET RESPONSE, as a T=0 card does.
type echoCard struct {
	resets atomic.Int32
}

func (c *echoCard) ATR() []byte { return testATR }
func (c *echoCard) Reset()      { c.resets.Add(1) }
func (c *echoCard) Process(apdu []byte) []byte {
	switch apdu[1] {
	case 0xCA:
		return []byte{0x61, 0x10}
	case 0xC0:
		return append(bytes.Repeat([]byte{0xAB}, int(apdu[4])), 0x90, 0x00)
	}
	return append(append([]byte(nil), apdu[:4]...), 0x90, 0x00)
}

func setup(t *testing.T) context.Context {
	pcsctest.Require(t, addr)
	pcsctest.LockReader(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func TestListReadersAndTransmit(t *testing.T) {
	ctx := setup(t)
	rs, err := pcsc.ListReaders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range rs {
		if r.Name == reader {
			found = true
			if r.CardPresent {
				t.Fatal("reader shows a card before insertion")
			}
		}
	}
	if !found {
		t.Fatalf("reader %q not in %v", reader, rs)
	}

	slot := pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{})
	rs, _ = pcsc.ListReaders(ctx)
	for _, r := range rs {
		if r.Name == reader && !bytes.Equal(r.ATR, testATR) {
			t.Fatalf("ATR = %X, want %X", r.ATR, testATR)
		}
	}

	card, err := pcsc.Connect(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if ext, known := card.ExtendedLength(); !ext || !known {
		t.Fatalf("extended length = %v, %v; the ATR declares it", ext, known)
	}
	rsp, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rsp, []byte{0x00, 0xA4, 0x04, 0x0C, 0x90, 0x00}) {
		t.Fatalf("response %X", rsp)
	}
	rsp, err = card.Transmit(ctx, []byte{0x00, 0xCA, 0x01, 0x00, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	if len(rsp) != 18 || rsp[0] != 0xAB || rsp[16] != 0x90 {
		t.Fatalf("chained response %X", rsp)
	}
	if slot.APDUs() != 3 {
		t.Fatalf("card saw %d APDUs, want 3", slot.APDUs())
	}
}

func TestNoCard(t *testing.T) {
	ctx := setup(t)
	_, err := pcsc.Connect(ctx, reader)
	if !errors.Is(err, pcsc.ErrNoCard) {
		t.Fatalf("connect to an empty reader: %v, want ErrNoCard", err)
	}
	_, err = pcsc.Connect(ctx, "No Such Reader 99")
	if !errors.Is(err, pcsc.ErrNoReader) {
		t.Fatalf("connect to a missing reader: %v, want ErrNoReader", err)
	}
}

func TestTransmitDeadline(t *testing.T) {
	ctx := setup(t)
	pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{Delay: 3 * time.Second})
	card, err := pcsc.Connect(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = card.Transmit(tctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x04})
	if !errors.Is(err, pcsc.ErrTimeout) {
		t.Fatalf("slow card: %v, want ErrTimeout", err)
	}
	if _, err := card.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x04}); !errors.Is(err, pcsc.ErrClosed) {
		t.Fatalf("after a timeout: %v, want ErrClosed", err)
	}
}

func TestCardPulledMidSessionThenNextCard(t *testing.T) {
	ctx := setup(t)
	slot := pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{PullAfter: 3})
	card, err := pcsc.Connect(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	apdu := []byte{0x00, 0xB0, 0x00, 0x00, 0x04}
	if _, err := card.Transmit(ctx, apdu); err != nil {
		t.Fatal(err)
	}
	// PullAfter counts every command, including any pcscd sends on power-up; keep
	// going until the card is gone.
	var pullErr error
	for i := 0; i < 5 && pullErr == nil; i++ {
		_, pullErr = card.Transmit(ctx, apdu)
	}
	if !errors.Is(pullErr, pcsc.ErrCardRemoved) {
		t.Fatalf("transmit after the card was pulled: %v, want ErrCardRemoved", pullErr)
	}
	card.Close()
	if err := slot.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}

	pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{})
	card, err = pcsc.Connect(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if _, err := card.Transmit(ctx, apdu); err != nil {
		t.Fatalf("next card: %v", err)
	}
}

func TestWatchInsertRemove(t *testing.T) {
	ctx := setup(t)
	wctx, stop := context.WithCancel(ctx)
	events := pcsc.Watch(wctx)
	next := func(kind pcsc.EventKind) pcsc.Event {
		t.Helper()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("watch ended waiting for %v", kind)
				}
				if e.Reader != "" && e.Reader != reader {
					continue
				}
				if e.Kind == kind {
					return e
				}
				if e.Kind == pcsc.CardInserted || e.Kind == pcsc.CardRemoved {
					t.Fatalf("got %v, want %v", e.Kind, kind)
				}
			case <-ctx.Done():
				t.Fatalf("no %v event", kind)
			}
		}
	}
	next(pcsc.ServiceBack)
	next(pcsc.ReaderAttached)
	for i := 0; i < 2; i++ {
		slot := pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{})
		e := next(pcsc.CardInserted)
		if !bytes.Equal(e.ATR, testATR) {
			t.Fatalf("insert ATR %X", e.ATR)
		}
		if err := slot.WaitGone(ctx); err != nil {
			t.Fatal(err)
		}
		next(pcsc.CardRemoved)
	}
	stop()
	for range events {
	}
}
