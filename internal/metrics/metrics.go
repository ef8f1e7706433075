// Package metrics is a small registry of counters, gauges and histograms served in the
// Prometheus text format on /metrics. It keeps no personal data and never blocks a
// caller for longer than a mutex.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds every metric of one agent.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]metric
}

type metric interface {
	write(w io.Writer, name string)
	help() (string, string)
}

// New returns an empty registry.
func New() *Registry { return &Registry{metrics: map[string]metric{}} }

// Counter is a monotonically increasing number.
type Counter struct {
	helpText string
	v        atomic.Int64
}

// Add increases the counter.
func (c *Counter) Add(n int64) { c.v.Add(n) }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Value is the current count.
func (c *Counter) Value() int64 { return c.v.Load() }

func (c *Counter) write(w io.Writer, name string) { fmt.Fprintf(w, "%s %d\n", name, c.v.Load()) }
func (c *Counter) help() (string, string)         { return c.helpText, "counter" }

// Gauge is a value that goes up and down.
type Gauge struct {
	helpText string
	bits     atomic.Uint64
}

// Set stores the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Value is the stored value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) write(w io.Writer, name string) {
	fmt.Fprintf(w, "%s %s\n", name, formatFloat(g.Value()))
}
func (g *Gauge) help() (string, string) { return g.helpText, "gauge" }

// Histogram counts observations into fixed buckets (seconds, for latencies).
type Histogram struct {
	helpText string
	mu       sync.Mutex
	bounds   []float64
	counts   []uint64
	sum      float64
	count    uint64
}

// DefaultLatencyBuckets spans 100 µs to 10 s.
var DefaultLatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	h.mu.Lock()
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// Count is how many values were observed.
func (h *Histogram) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

func (h *Histogram) write(w io.Writer, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	base, labels := splitName(name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket%s %d\n", base, withLabel(labels, "le", formatFloat(b)), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket%s %d\n", base, withLabel(labels, "le", "+Inf"), cum)
	fmt.Fprintf(w, "%s_sum%s %s\n", base, labels, formatFloat(h.sum))
	fmt.Fprintf(w, "%s_count%s %d\n", base, labels, h.count)
}
func (h *Histogram) help() (string, string) { return h.helpText, "histogram" }

// Counter returns the counter with that name (and optional labels as "k=v" pairs),
// creating it on first use.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return get(r, fullName(name, labels), func() *Counter { return &Counter{helpText: help} })
}

// Gauge returns the named gauge, creating it on first use.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	return get(r, fullName(name, labels), func() *Gauge { return &Gauge{helpText: help} })
}

// Histogram returns the named histogram, creating it with buckets on first use
// (DefaultLatencyBuckets when nil).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	if buckets == nil {
		buckets = DefaultLatencyBuckets
	}
	return get(r, fullName(name, labels), func() *Histogram {
		return &Histogram{helpText: help, bounds: buckets, counts: make([]uint64, len(buckets)+1)}
	})
}

func get[T metric](r *Registry, name string, mk func() T) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.metrics[name]; ok {
		if t, ok := m.(T); ok {
			return t
		}
		panic("metrics: " + name + " registered twice with different types")
	}
	m := mk()
	r.metrics[name] = m
	return m
}

// WriteText writes every metric in the Prometheus text exposition format.
func (r *Registry) WriteText(w io.Writer) {
	r.mu.Lock()
	names := make([]string, 0, len(r.metrics))
	for n := range r.metrics {
		names = append(names, n)
	}
	ms := make(map[string]metric, len(r.metrics))
	for n, m := range r.metrics {
		ms[n] = m
	}
	r.mu.Unlock()
	sort.Strings(names)
	seen := map[string]bool{}
	for _, n := range names {
		base, _ := splitName(n)
		if !seen[base] {
			seen[base] = true
			h, typ := ms[n].help()
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", base, h, base, typ)
		}
		ms[n].write(w, n)
	}
}

func fullName(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, 0, len(labels))
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func splitName(n string) (base, labels string) {
	if i := strings.IndexByte(n, '{'); i >= 0 {
		return n[:i], n[i:]
	}
	return n, ""
}

func withLabel(labels, k, v string) string {
	l := fmt.Sprintf("%s=%q", k, v)
	if labels == "" {
		return "{" + l + "}"
	}
	return labels[:len(labels)-1] + "," + l + "}"
}

func formatFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.6f", v), "0"), ".")
}
