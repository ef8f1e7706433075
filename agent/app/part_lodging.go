package app

import (
	"context"

	"motcua-agent/agent/lodging"
)

// startLodging keeps the night's lodging list at hospital ward desks. It subscribes to
// the bus before the scanners and the card reader start publishing.
func startLodging(ctx context.Context, a *App) error {
	if !a.Config.Lodging.Enabled {
		return nil
	}
	l, err := lodging.Start(ctx, lodging.Deps{Config: a.Config, Store: a.Store, Bus: a.Bus,
		Log: a.Log.With("flow", "lodging"), Now: a.Now})
	if err != nil {
		return err
	}
	l.Register(a.Web)
	a.Go(l.Wait)
	return nil
}
