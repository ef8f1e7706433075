package hub

import (
	"testing"

	"motcua-agent/config/vocab"
)

// Every metric an agent can push is named in Vietnamese on the hub's pages.
func TestEveryAgentMetricHasAHubLabel(t *testing.T) {
	t.Parallel()
	for _, d := range vocab.Metrics() {
		if got := metricName(d.Name); got == d.Name {
			t.Errorf("hub shows %s without a label", d.Name)
		}
	}
}
