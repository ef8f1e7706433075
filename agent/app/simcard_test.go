//go:build unix

package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/internal/testkit"
)

// TestDemoCardStandsAside: the demo's virtual card waits while another program holds
// the virtual reader, so it never turns up in the middle of someone else's card work
// (vpcd would serve it the moment the other card left), and goes in once the reader
// is free.
func TestDemoCardStandsAside(t *testing.T) {
	pcsctest.Require(t, vpcd.DefaultAddr)
	reader := vpcd.ReaderName(vpcd.DefaultAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The holder: a claim and a card of its own, as a test or a technician's tool.
	release, err := vpcd.Claim(vpcd.DefaultAddr, true)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
	c, err := simcard.Load(filepath.Join("..", "..", "testdata", "cards", "binh-2024.json"))
	if err != nil {
		t.Fatal(err)
	}
	card, err := c.Card(simcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	own := pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})

	dir := t.TempDir()
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := filepath.Abs(filepath.Join("..", "..", defaultSimProfile))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Card.Simulation.Profile = profile
	var log testkit.Buffer
	_, stop := serveApp(t, cfg, func(a *App) { a.Log = slog.New(slog.NewTextHandler(&log, nil)) })
	testkit.Eventually(t, 20*time.Second, func() bool {
		l := log.String()
		return strings.Contains(l, "the demo's card waits") || strings.Contains(l, "virtual card inserted")
	}, "the demo agent to try the reader (log: %s)", log.String)

	// The holder's card leaves; the demo's does not take its place.
	if err := own.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		time.Sleep(time.Second)
		if r, err := pcsctest.Reader(ctx, reader); err != nil || r.CardPresent {
			t.Fatalf("a card came into the held reader: %+v %v", r, err)
		}
	}
	if strings.Contains(log.String(), "virtual card inserted") {
		t.Fatal("the demo inserted its card into a held reader")
	}

	// The reader is free: the demo's card goes in, and leaves with the agent.
	release()
	released = true
	if err := pcsctest.WaitCard(ctx, reader, true); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := pcsctest.WaitCard(ctx, reader, false); err != nil {
		t.Fatal(err)
	}
}
