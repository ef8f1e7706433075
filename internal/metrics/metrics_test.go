package metrics

import (
	"strings"
	"testing"
)

func TestPrometheusText(t *testing.T) {
	t.Parallel()
	r := New()
	r.Counter("app_events_total", "Events.", "kind=a").Add(2)
	r.Counter("app_events_total", "Events.", "kind=b").Inc()
	r.Gauge("app_backlog", "Backlog.").Set(1.5)
	h := r.Histogram("app_latency_seconds", "Latency.", []float64{0.01, 0.1})
	h.Observe(0.005)
	h.Observe(0.05)
	h.Observe(3)
	var b strings.Builder
	r.WriteText(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE app_events_total counter\n",
		`app_events_total{kind="a"} 2`,
		`app_events_total{kind="b"} 1`,
		"app_backlog 1.5\n",
		`app_latency_seconds_bucket{le="0.01"} 1`,
		`app_latency_seconds_bucket{le="0.1"} 2`,
		`app_latency_seconds_bucket{le="+Inf"} 3`,
		"app_latency_seconds_count 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Count(out, "# TYPE app_events_total") != 1 {
		t.Error("TYPE line repeated per label set")
	}
}
