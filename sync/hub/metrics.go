package hub

import (
	"net/http"

	"motcua-agent/internal/metrics"
)

// hubMetrics are the hub's series, in the one registry and text writer the agent uses.
type hubMetrics struct {
	reg         *metrics.Registry
	accepted    *metrics.Counter
	ignored     *metrics.Counter
	commits     *metrics.Counter
	retries     *metrics.Counter
	pushSeconds *metrics.Histogram
	devices     *metrics.Gauge
	revoked     *metrics.Gauge
}

func newHubMetrics() *hubMetrics {
	r := metrics.New()
	return &hubMetrics{
		reg:         r,
		accepted:    r.Counter("motcua_hub_snapshots_accepted_total", "Counter snapshots stored or replaced."),
		ignored:     r.Counter("motcua_hub_snapshots_ignored_total", "Counter snapshots already held at this or a newer revision."),
		commits:     r.Counter("motcua_hub_commits_total", "Group commits to the database."),
		retries:     r.Counter("motcua_hub_commit_retries_total", "Group commits run again after a conflict with another hub's writer."),
		pushSeconds: r.Histogram("motcua_hub_push_seconds", "Time to authenticate, validate and commit an accepted push.", nil),
		devices:     r.Gauge("motcua_hub_devices", "Enrolled devices, revoked ones included."),
		revoked:     r.Gauge("motcua_hub_devices_revoked", "Revoked devices."),
	}
}

// push counts one answered push by its result code ("ok" or the error code).
func (m *hubMetrics) push(code string) {
	m.reg.Counter("motcua_hub_pushes_total", "Pushes answered, by result code.", "code="+code).Inc()
}

func (h *Hub) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var devices, revoked int64
	_ = h.rdb.QueryRowContext(r.Context(), `SELECT count(*), count(revoked_at) FROM devices`).Scan(&devices, &revoked)
	h.metrics.devices.Set(float64(devices))
	h.metrics.revoked.Set(float64(revoked))
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.metrics.reg.WriteText(w)
}
