//go:build unix

package identity_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"motcua-agent/agent/identity"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd/vcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCardRead reads the benchmark card (COM, SOD, DG1, a ~18 KB DG2, DG13,
// DG14, DG15, then PA, AA, CA) through the real pcscd and vpcd, with the virtual card
// modelling a contactless link: a fixed delay per APDU plus the bytes' time at 106
// kbit/s. It reports the ratio of wall time to the floor (bytes ÷ link rate + APDUs ×
// delay), the same ratio with the card's own computing time taken out (a real chip's
// is part of its answer time, not ours), the APDU count against fixed 224-byte chunks
// measured in the same run, and the CPU time spent on our side per read (process CPU
// minus the card's own). "short" uses short APDUs only; "extended" a card whose ATR
// declares extended length, with MaxLe 1024.
func BenchmarkCardRead(b *testing.B) {
	for _, ext := range []bool{false, true} {
		name := "short"
		if ext {
			name = "extended"
		}
		b.Run(name, func(b *testing.B) { benchmarkCardRead(b, ext) })
	}
}

func benchmarkCardRead(b *testing.B, extended bool) {
	const (
		delay = 3 * time.Millisecond
		rate  = 13250 // bytes per second: 106 kbit/s
	)
	pcsctest.Require(b, addr)
	pcsctest.LockReader(b, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := pcsctest.WaitCard(ctx, vpcd.ReaderName(addr), false); err != nil {
		b.Fatal(err)
	}
	c, err := simcard.Load(cardsDir + "/hai-benchmark.json")
	if err != nil {
		b.Fatal(err)
	}
	opt := simcard.Options{Faults: vcard.Faults{Delay: delay, LinkBytesPerSecond: rate}}
	if extended {
		opt.ExtendedLength, opt.MaxLe = true, 1024
	}
	card, err := c.Card(opt)
	if err != nil {
		b.Fatal(err)
	}
	var plugged vpcd.Card = card
	if extended {
		plugged = simcard.ExtendedCard{Card: card}
	}
	pcsctest.Insert(b, ctx, addr, plugged, vpcd.Options{})
	ts := trust(b)
	req := qrRequest(b, c, ts)

	read := func(fixed int) *identity.Verification {
		r := req
		r.FixedChunk = fixed
		v, err := identity.ReadCard(ctx, r)
		if err != nil || v.Outcome != identity.OutcomeOK {
			b.Fatalf("read: %v %+v", err, v)
		}
		return v
	}
	base := read(224) // the fixed-chunk baseline, same card, same run
	b.ResetTimer()
	var wall, floor, cpu, busy time.Duration
	var apdus, bytes int
	for i := 0; i < b.N; i++ {
		busy0, cpu0, t0 := card.Busy(), cpuTime(), time.Now()
		v := read(0)
		wall += time.Since(t0)
		cardBusy := card.Busy() - busy0
		busy += cardBusy
		cpu += cpuTime() - cpu0 - cardBusy
		n := v.BytesSent + v.BytesReceived
		floor += time.Duration(n)*time.Second/rate + time.Duration(v.APDUs)*delay
		apdus, bytes = v.APDUs, n
	}
	b.StopTimer()
	b.ReportMetric(float64(apdus), "apdus/read")
	b.ReportMetric(float64(base.APDUs), "apdus-fixed224/read")
	b.ReportMetric(float64(apdus)/float64(base.APDUs), "apdus-vs-fixed224")
	b.ReportMetric(float64(bytes), "bytes/read")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor-ms/read")
	b.ReportMetric(float64(wall)/float64(floor), "wall-vs-floor")
	b.ReportMetric(float64(wall-busy)/float64(floor), "wall-minus-card-vs-floor")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "cpu-ms/read")
}
