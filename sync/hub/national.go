package hub

import (
	"context"

	"motcua-agent/sync/hub/federation"
	"motcua-agent/sync/hub/web"
	"motcua-agent/sync/upload"
)

// The national tier: the uploader is sync/hub/federation; the hub gives it its
// database, clock, log, metrics and the names it pushes.

type (
	// UpstreamConfig is where and as whom a provincial hub pushes its totals.
	UpstreamConfig = federation.UpstreamConfig
	// Upstream pushes a provincial hub's totals to the national hub.
	Upstream = federation.Upstream
)

// LoadUpstreamFile reads the lines the national hub's `motcua-hub enroll` printed.
func LoadUpstreamFile(path string) (UpstreamConfig, error) { return federation.LoadUpstreamFile(path) }

func (h *Hub) federation() federation.Hub {
	return federation.Hub{Store: h.store, Now: h.now, Log: h.log, Metrics: h.metrics.reg,
		Names: h.totals.Names, Silent: web.SilentAfter}
}

// StartUpstream checks cfg, prepares the outbox and starts pushing to the national hub
// in the background until Close.
func (h *Hub) StartUpstream(cfg UpstreamConfig) (*Upstream, error) {
	return federation.Start(h.federation(), cfg)
}

// StartUpstreamFrom starts pushing to the national hub named in the file `motcua-hub
// enroll` printed there (LoadUpstreamFile).
func (h *Hub) StartUpstreamFrom(path string) (*Upstream, error) {
	return federation.StartFrom(h.federation(), path)
}

// UpstreamStatus is the last state the uploader saved in the database, whichever hub
// process holds it; ok is false when this hub never pushed upstream.
func (h *Hub) UpstreamStatus(ctx context.Context) (st upload.Status, ok bool, err error) {
	return federation.Status(ctx, h.federation())
}
