package hub

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
)

// hubMetrics is what /metrics exposes in the Prometheus text format. The hub keeps its
// own few series rather than importing the agent's registry (sync imports only config).
type hubMetrics struct {
	pushes      labelledCounter
	accepted    atomic.Int64
	ignored     atomic.Int64
	commits     atomic.Int64
	pushSeconds histogram
}

func newHubMetrics() *hubMetrics {
	return &hubMetrics{
		pushes:      labelledCounter{counts: map[string]int64{}},
		pushSeconds: histogram{bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}},
	}
}

type labelledCounter struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (c *labelledCounter) inc(label string) {
	c.mu.Lock()
	c.counts[label]++
	c.mu.Unlock()
}

func (c *labelledCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

type histogram struct {
	mu      sync.Mutex
	bounds  []float64
	buckets []int64
	sum     float64
	count   int64
}

func (h *histogram) observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buckets == nil {
		h.buckets = make([]int64, len(h.bounds))
	}
	for i, b := range h.bounds {
		if v <= b {
			h.buckets[i]++
		}
	}
	h.sum += v
	h.count++
}

func (h *Hub) serveMetrics(w http.ResponseWriter, r *http.Request) {
	m := h.metrics
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintln(w, "# HELP motcua_hub_pushes_total Pushes answered, by result code.")
	fmt.Fprintln(w, "# TYPE motcua_hub_pushes_total counter")
	counts := m.pushes.snapshot()
	codes := make([]string, 0, len(counts))
	for k := range counts {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "motcua_hub_pushes_total{code=%q} %d\n", c, counts[c])
	}
	fmt.Fprintln(w, "# HELP motcua_hub_snapshots_accepted_total Counter snapshots stored or replaced.")
	fmt.Fprintln(w, "# TYPE motcua_hub_snapshots_accepted_total counter")
	fmt.Fprintf(w, "motcua_hub_snapshots_accepted_total %d\n", m.accepted.Load())
	fmt.Fprintln(w, "# HELP motcua_hub_snapshots_ignored_total Counter snapshots already held at this or a newer revision.")
	fmt.Fprintln(w, "# TYPE motcua_hub_snapshots_ignored_total counter")
	fmt.Fprintf(w, "motcua_hub_snapshots_ignored_total %d\n", m.ignored.Load())
	fmt.Fprintln(w, "# HELP motcua_hub_commits_total Group commits to the database.")
	fmt.Fprintln(w, "# TYPE motcua_hub_commits_total counter")
	fmt.Fprintf(w, "motcua_hub_commits_total %d\n", m.commits.Load())

	var devices, revoked int64
	_ = h.rdb.QueryRowContext(r.Context(), `SELECT count(*), count(revoked_at) FROM devices`).Scan(&devices, &revoked)
	fmt.Fprintln(w, "# HELP motcua_hub_devices Enrolled devices, revoked ones included.")
	fmt.Fprintln(w, "# TYPE motcua_hub_devices gauge")
	fmt.Fprintf(w, "motcua_hub_devices %d\n", devices)
	fmt.Fprintln(w, "# HELP motcua_hub_devices_revoked Revoked devices.")
	fmt.Fprintln(w, "# TYPE motcua_hub_devices_revoked gauge")
	fmt.Fprintf(w, "motcua_hub_devices_revoked %d\n", revoked)

	hs := &m.pushSeconds
	hs.mu.Lock()
	defer hs.mu.Unlock()
	fmt.Fprintln(w, "# HELP motcua_hub_push_seconds Time to authenticate, validate and commit an accepted push.")
	fmt.Fprintln(w, "# TYPE motcua_hub_push_seconds histogram")
	for i, b := range hs.bounds {
		var n int64
		if hs.buckets != nil {
			n = hs.buckets[i]
		}
		fmt.Fprintf(w, "motcua_hub_push_seconds_bucket{le=\"%g\"} %d\n", b, n)
	}
	fmt.Fprintf(w, "motcua_hub_push_seconds_bucket{le=\"+Inf\"} %d\n", hs.count)
	fmt.Fprintf(w, "motcua_hub_push_seconds_sum %s\n", formatFloat(hs.sum))
	fmt.Fprintf(w, "motcua_hub_push_seconds_count %d\n", hs.count)
}

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0"
	}
	return fmt.Sprintf("%g", f)
}
