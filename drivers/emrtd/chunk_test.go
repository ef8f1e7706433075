package emrtd_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"motcua-agent/drivers/emrtd"
)

func readCounting(t testing.TB, fx *fixture, opts emrtd.ReadOptions) *emrtd.Document {
	t.Helper()
	opts.Keys = []emrtd.AccessKey{fx.mrzKey()}
	opts.Trust = fx.trust
	doc, err := emrtd.Read(ctx(t), fx.card(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if doc.DG2 == nil || !bytes.Equal(doc.DG2.Image, fx.photo) || !doc.PassiveAuth.DataGroupHashes[2].Passed() {
		t.Fatalf("DG2 not read intact")
	}
	return doc
}

func TestChunkAdaptation(t *testing.T) {
	fx := newFixture(t, fixtureOptions{photo: 20000})
	fixed := readCounting(t, fx, emrtd.ReadOptions{FixedChunk: 224}).Counters.APDUs

	// A short-only card: grow from 0xDF to 0x100, refuse extended.
	short := readCounting(t, fx, emrtd.ReadOptions{ExtendedLength: true}).Counters.APDUs
	if short >= fixed {
		t.Errorf("short card: %d APDUs, fixed 224: %d", short, fixed)
	}

	// An extended-length card read by an extended-length reader.
	fx.profile.ExtendedLength, fx.profile.MaxLe = true, 4096
	ext := readCounting(t, fx, emrtd.ReadOptions{ExtendedLength: true}).Counters.APDUs
	if ext >= short || ext > fixed/3 {
		t.Errorf("extended: %d APDUs, short %d, fixed %d", ext, short, fixed)
	}
	// The same card without reader support stays short.
	if n := readCounting(t, fx, emrtd.ReadOptions{}).Counters.APDUs; n < short || n > fixed+3 {
		t.Errorf("no reader support: %d APDUs, short card %d, fixed %d", n, short, fixed)
	}

	// A card that only gives 128 bytes: 6Cxx makes the reader shrink.
	fx.profile.ExtendedLength, fx.profile.MaxLe = false, 128
	small := readCounting(t, fx, emrtd.ReadOptions{}).Counters.APDUs
	if small <= fixed {
		t.Errorf("small card: %d APDUs, expected more than %d", small, fixed)
	}
	t.Logf("APDUs: fixed 224 %d, short adaptive %d, extended %d, 128-byte card %d", fixed, short, ext, small)
}

func TestReadBeyond32KiB(t *testing.T) {
	fx := newFixture(t, fixtureOptions{photo: 70000})
	doc := readCounting(t, fx, emrtd.ReadOptions{})
	if len(doc.Raw["DG2"]) < 70000 {
		t.Fatalf("DG2 of %d bytes", len(doc.Raw["DG2"]))
	}
	fx.profile.ExtendedLength, fx.profile.MaxLe = true, 4096
	readCounting(t, fx, emrtd.ReadOptions{ExtendedLength: true})
	// The cap still holds.
	fx.profile.ExtendedLength, fx.profile.MaxLe = false, 0
	doc, err := emrtd.Read(ctx(t), fx.card(t), emrtd.ReadOptions{Keys: []emrtd.AccessKey{fx.mrzKey()}, MaxPhotoFileSize: 50000})
	if err != nil {
		t.Fatal(err)
	}
	if c := fileCheck(doc, "DG2"); !errors.Is(c.Err, emrtd.ErrTooLarge) {
		t.Fatalf("DG2 over the cap: %+v", c)
	}
}

// BenchmarkRead reads a full card (COM, SOD, DG1, 20 KB DG2, DG13, DG14,
// DG15; PA, AA, CA) in process and reports APDUs and bytes per read and
// the APDU ratio to fixed 224-byte chunks; ns/op is the CPU cost of our
// own crypto and parsing plus the virtual card's.
func BenchmarkRead(b *testing.B) {
	for _, mode := range []struct {
		name string
		ext  bool
		opts emrtd.ReadOptions
	}{
		{"fixed224", false, emrtd.ReadOptions{FixedChunk: 224}},
		{"adaptive-short", false, emrtd.ReadOptions{ExtendedLength: true}},
		{"adaptive-extended", true, emrtd.ReadOptions{ExtendedLength: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			fx := newFixture(b, fixtureOptions{photo: 20000, aa: "ec", ca: true, pace: true})
			fx.profile.CAN = "345678"
			fx.profile.ExtendedLength = mode.ext
			if mode.ext {
				fx.profile.MaxLe = 0x7F00
			}
			base := fx.profile
			base.ExtendedLength, base.MaxLe = false, 0
			opts := mode.opts
			opts.Keys = []emrtd.AccessKey{emrtd.CANKey("345678")}
			opts.Trust = fx.trust
			fixedOpts := opts
			fixedOpts.FixedChunk = 224
			ref, err := emrtd.Read(ctx(b), (&fixture{profile: base}).card(b), fixedOpts)
			if err != nil {
				b.Fatal(err)
			}
			var doc *emrtd.Document
			var cardTime time.Duration
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				card := fx.card(b)
				doc, err = emrtd.Read(ctx(b), card, opts)
				if err != nil || !doc.Genuine() {
					b.Fatalf("read: %v", err)
				}
				cardTime += card.Busy()
			}
			terminal := (time.Since(start) - cardTime) / time.Duration(b.N)
			b.ReportMetric(float64(terminal.Microseconds()), "terminal-µs/read")
			b.ReportMetric(float64(doc.Counters.APDUs), "apdus/read")
			b.ReportMetric(float64(doc.Counters.BytesSent+doc.Counters.BytesReceived), "bytes/read")
			b.ReportMetric(float64(doc.Counters.APDUs)/float64(ref.Counters.APDUs), "apdus-vs-fixed224")
		})
	}
}

// BenchmarkReadOverLink adds a modelled contactless link (per-APDU delay and
// 424 kbit/s) and reports wall time as a ratio to the link's floor: bytes ÷
// rate + APDUs × delay.
func BenchmarkReadOverLink(b *testing.B) {
	const delay = 3 * time.Millisecond
	const rate = 53000 // bytes per second
	fx := newFixture(b, fixtureOptions{photo: 20000, aa: "ec", ca: true, pace: true})
	fx.profile.ExtendedLength, fx.profile.MaxLe = true, 0x7F00
	fx.profile.Faults.Delay = delay
	fx.profile.Faults.LinkBytesPerSecond = rate
	opts := emrtd.ReadOptions{Keys: []emrtd.AccessKey{emrtd.CANKey("345678")}, Trust: fx.trust, ExtendedLength: true}
	var doc *emrtd.Document
	var err error
	start := time.Now()
	for i := 0; i < b.N; i++ {
		doc, err = emrtd.Read(ctx(b), fx.card(b), opts)
		if err != nil || !doc.Genuine() {
			b.Fatalf("read: %v", err)
		}
	}
	wall := time.Since(start) / time.Duration(b.N)
	bytes := doc.Counters.BytesSent + doc.Counters.BytesReceived
	floor := time.Duration(bytes)*time.Second/rate + time.Duration(doc.Counters.APDUs)*delay
	b.ReportMetric(float64(doc.Counters.APDUs), "apdus/read")
	b.ReportMetric(float64(bytes), "bytes/read")
	b.ReportMetric(float64(wall)/float64(floor), "wall-vs-floor")
}
