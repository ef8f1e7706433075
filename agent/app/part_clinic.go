package app

import (
	"context"

	"motcua-agent/agent/clinic"
)

// startClinic runs health-insurance look-ups at clinic reception stations. It
// subscribes to the bus before the scanners and the card reader start publishing.
func startClinic(ctx context.Context, a *App) error {
	cfg := a.Config
	if !cfg.Clinic.Enabled {
		return nil
	}
	if cfg.Simulate { // the demo: the gateway simulator on loopback, its accounts written if missing
		if _, err := clinic.Simulate(ctx, cfg); err != nil {
			return err
		}
	}
	f, err := clinic.Start(ctx, clinic.Deps{Config: cfg, Store: a.Store, Bus: a.Bus,
		Accounts: clinic.LoadAccounts(cfg, a.Log), Health: a.Health, Metrics: a.Metrics,
		Log: a.Log.With("flow", "clinic"), Now: a.Now})
	if err != nil {
		return err
	}
	f.Register(a.Web)
	a.Go(f.Wait)
	return nil
}
