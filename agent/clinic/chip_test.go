//go:build unix

package clinic

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/identity"
	"motcua-agent/config"
	"motcua-agent/drivers/bhyt"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/internal/metrics"
)

// TestChipCardAtReception reads a virtual chip card through the real pcscd and the
// vpcd reader at a reception station, with the chip-card flow as the agent runs it:
// the QR scanned, then the card placed, is one look-up shown twice; with the repeat
// window closed the verified chip is a look-up of its own, by chip.
func TestChipCardAtReception(t *testing.T) {
	t.Parallel()
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	reader := vpcd.ReaderName(vpcd.DefaultAddr)
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
	r := newRig(t)
	c, err := simcard.Load(filepath.Join("..", "..", "testdata", "cards", "an-cccd2021.json"))
	if err != nil {
		t.Fatal(err)
	}
	person := bhyt.SimCard{ID: c.DG13.ID, Number: "GD4010900012345", Name: c.DG13.Name, Birth: c.DG13.Birth, Sex: c.DG13.Sex,
		Address: c.DG13.Residence, Facility: "01001", ValidFrom: "01/01/2026", ValidTo: "31/12/2026", Code: "000"}
	r.sim.AddCard(person)

	trustDir := t.TempDir()
	if _, err := identity.ImportTrust(trustDir, filepath.Join("..", "..", "testdata", "cards", "pki", "test", "csca.der")); err != nil {
		t.Fatal(err)
	}
	ts, err := identity.LoadTrust(trustDir)
	if err != nil {
		t.Fatal(err)
	}
	chips := identity.New(identity.Deps{Card: config.Card{Enabled: true, PairWindow: time.Minute, ReadTimeout: 20 * time.Second,
		Readers: []config.CardReader{{Name: reader, Counter: "tiep-don-1"}}}, Site: r.cfg.Site.ID, Store: r.st,
		IDs: storeHasher(), Bus: r.bus, Health: health.New(nil), Trust: ts, Log: r.log, Metrics: metrics.New()})
	chipCtx, stopChips := context.WithCancel(ctx)
	chipsDone := make(chan struct{})
	go func() { chips.Run(chipCtx); close(chipsDone) }()
	defer func() { stopChips(); <-chipsDone }()

	insert := func() *pcsctest.Slot {
		card, err := c.Card(simcard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
	}

	// The QR, then the card: one look-up.
	r.scan("tiep-don-1", c.QR)
	first := r.next(StateDone)
	if first.s("source") != SourceQR || first.s("outcome") != OutcomeOK {
		t.Fatalf("QR look-up %v", first.pub)
	}
	slot := insert()
	again := r.next(StateDone)
	if again.s("lookup") != first.s("lookup") || again.pub["repeat"] != true {
		t.Fatalf("the chip after the QR is not the same look-up: %v", again.pub)
	}
	if err := slot.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}

	// Without the repeat window, the verified chip is its own look-up.
	r.stopFlow()
	r.cfg.Clinic.RepeatWindow = time.Nanosecond
	r.startFlow()
	r.scan("tiep-don-1", c.QR)
	if got := r.next(StateDone); got.s("source") != SourceQR {
		t.Fatalf("second QR %v", got.pub)
	}
	r.clock.Add(time.Second)
	insert()
	byChip := r.next(StateDone)
	if byChip.s("source") != SourceChip || byChip.s("outcome") != OutcomeOK || byChip.card()["number"] != person.Number ||
		byChip.pers["name"] != c.DG13.Name {
		t.Fatalf("chip look-up %v %v", byChip.pub, byChip.pers)
	}
	if r.counter(MetricLookups, map[string]string{"source": SourceChip}) != 1 || r.counter(MetricLookups, nil) != 3 ||
		r.sim.Stats().Checks != 3 {
		t.Fatalf("look-ups: chip %d, all %d, checks %d", r.counter(MetricLookups, map[string]string{"source": SourceChip}),
			r.counter(MetricLookups, nil), r.sim.Stats().Checks)
	}
	r.checkRecord([]bhyt.SimCard{person})
}
