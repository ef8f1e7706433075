package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/identity"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/vpcd"
)

// TrustDir is the CSCA trust store folder of a site.
func TrustDir(cfg *config.Config) string {
	if cfg.Card.TrustDir != "" {
		return cfg.Resolve(cfg.Card.TrustDir)
	}
	return filepath.Join(cfg.DataDir, "trust")
}

// defaultSimProfile is the demo's virtual citizen when the config names none.
const defaultSimProfile = "testdata/cards/an-cccd2021.json"

func startCard(ctx context.Context, a *App) error {
	cfg := a.Config
	if !cfg.Card.Enabled && !cfg.Simulate {
		return nil
	}
	trust, err := identity.LoadTrust(TrustDir(cfg))
	if err != nil {
		return err
	}
	if cfg.Simulate {
		if err := startSimCard(ctx, a, trust); err != nil {
			a.Log.Warn("card: no virtual card", "err", err)
		}
	}
	flow := identity.New(identity.Deps{Card: cfg.Card, Site: cfg.Site.ID, Store: a.Store, IDs: a.IDs, Bus: a.Bus,
		Health: a.Health, Log: a.Log, Trust: trust, Now: a.Now, Metrics: a.Metrics, Location: cfg.Location()})
	flow.Register(a.Web)
	a.Go(func() { flow.Run(ctx) })
	return nil
}

// startSimCard plugs the demo's virtual card into pcscd through vpcd, and trusts its
// test CSCA (in memory only). Without pcscd the reader is marked absent with a message
// for the dashboard. The card is inserted again whenever it is pulled.
func startSimCard(ctx context.Context, a *App, trust *emrtd.TrustStore) error {
	sim := a.Config.Card.Simulation
	name := simReaderName(a.Config)
	if _, err := pcsc.ListReaders(ctx); err != nil {
		msg := "Không có dịch vụ đọc thẻ (pcscd + vsmartcard-vpcd) nên thẻ mô phỏng không chạy."
		a.Health.Set(health.Device{Name: name, Kind: "reader", State: health.Absent, Detail: "virtual card: " + err.Error(), Message: msg})
		return err
	}
	path := simProfilePath(a.Config)
	c, err := simcard.Load(path)
	if err != nil {
		a.Health.Set(health.Device{Name: name, Kind: "reader", State: health.Fault, Detail: err.Error(),
			Message: "Không nạp được hồ sơ thẻ mô phỏng."})
		return err
	}
	signer, err := simcard.LoadSigner(filepath.Join(filepath.Dir(path), "pki", c.PKI))
	if err != nil {
		return err
	}
	if _, err := trust.AddCertificate(signer.CSCA); err != nil {
		return fmt.Errorf("trust the test CSCA: %w", err)
	}
	card, err := c.Card(simcard.Options{})
	if err != nil {
		return err
	}
	a.Go(func() {
		stoodAside := false
		for ctx.Err() == nil {
			// The demo's card is the one nobody asked for: it stands aside while
			// another program (a test, another demo agent) holds the virtual reader.
			release, err := vpcd.Claim(sim.VPCD, false)
			switch {
			case errors.Is(err, vpcd.ErrClaimed):
				if !stoodAside {
					a.Log.Info("card: the virtual reader is in use by another program; the demo's card waits", "reader", name)
				}
				stoodAside = true
			case err != nil:
				// No lock to take (the temp dir is not writable): go on as if alone.
				a.Log.Warn("card: virtual card", "err", err)
				insertSimCard(ctx, a, sim.VPCD, name, filepath.Base(path), card)
			default:
				stoodAside = false
				insertSimCard(ctx, a, sim.VPCD, name, filepath.Base(path), card)
				release()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
			card.Reset()
		}
	})
	return nil
}

// insertSimCard puts the demo's card into the virtual reader until ctx ends or vpcd
// drops it.
func insertSimCard(ctx context.Context, a *App, addr, reader, profile string, card vpcd.Card) {
	slot, err := vpcd.Insert(ctx, addr, card, vpcd.Options{})
	if err != nil {
		a.Log.Warn("card: virtual card", "err", err)
		return
	}
	a.Log.Info("card: virtual card inserted", "reader", reader, "profile", profile)
	select {
	case <-ctx.Done():
		slot.Remove()
	case <-slot.Done():
	}
}

// simReaderName is the PC/SC name of the demo's virtual reader.
func simReaderName(cfg *config.Config) string {
	if name := vpcd.ReaderName(cfg.Card.Simulation.VPCD); name != "" {
		return name
	}
	return "Virtual PCD"
}

// simProfilePath is the virtual citizen's profile file of the demo.
func simProfilePath(cfg *config.Config) string {
	sim := cfg.Card.Simulation
	path := sim.Profile
	if path == "" {
		path = defaultSimProfile
	}
	path = cfg.Resolve(path)
	if _, err := os.Stat(path); err != nil && sim.Profile == "" {
		// The demo started outside the checkout: look beside the binary (bin/..).
		if exe, err := os.Executable(); err == nil {
			if alt := filepath.Join(filepath.Dir(exe), "..", defaultSimProfile); fileExists(alt) {
				path = alt
			}
		}
	}
	return path
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
