package web

import (
	"strings"
	"testing"

	"motcua-agent/config/vocab"
)

// Every metric an agent can push is named in Vietnamese on the hub's pages, never by
// its code, and a metric counted in seconds is shown as a duration, not in seconds.
func TestEveryAgentMetricHasAHubLabel(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{}
	for _, m := range metricOrder {
		listed[m] = true
	}
	for _, d := range vocab.Metrics() {
		got := metricName(d.Name)
		if got == d.Name || strings.Contains(got, d.Name) || got != strings.TrimSuffix(d.Label, " (giây)") {
			t.Errorf("hub shows %s as %q", d.Name, got)
		}
		if isSeconds(d.Name) && (strings.Contains(got, "giây") || !strings.Contains(metricValue(d.Name, 3600), "giờ")) {
			t.Errorf("%s is shown in seconds: %q %q", d.Name, got, metricValue(d.Name, 3600))
		}
		if !listed[d.Name] {
			t.Errorf("%s has no place in the page's order of figures (metricOrder)", d.Name)
		}
	}
	if got := metricName("future.metric"); strings.Contains(got, "future.metric") {
		t.Errorf("an unknown metric is shown by its code: %q", got)
	}
}
