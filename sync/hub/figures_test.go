package hub

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"motcua-agent/config/vocab"
)

// TestAverageWaitAcrossAnUpgrade: in one month, one site's agent is from before first
// calls were counted and another's after. The province's average wait divides each
// site's waits by its own calls (served and absent for the older, first calls for the
// newer), on the page's figures, its drill-down and the export; not every wait by the
// newer agent's first calls alone.
func TestAverageWaitAcrossAnUpgrade(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		old, upgraded := th.enroll(t, "OLD", "old-pc"), th.enroll(t, "NEW", "new-pc")
		for _, p := range []struct {
			site, device string
			key          []byte
			body         []byte
		}{
			// 10 calls (8 served, 2 absent) waiting 1.200 s: 2 minutes each.
			{"OLD", "old-pc", old, pushBody(t, "OLD", "old-pc",
				snap("2026-11-10", vocab.TicketsServed, 8, 1, "service", "A", "counter", "1"),
				snap("2026-11-10", vocab.TicketsNoShow, 2, 2, "service", "A", "counter", "1"),
				snap("2026-11-10", vocab.TicketsWaitSeconds, 1200, 3, "service", "A"))},
			// 10 first calls waiting 600 s, only 4 served so far: 1 minute each.
			{"NEW", "new-pc", upgraded, pushBody(t, "NEW", "new-pc",
				snap("2026-11-20", vocab.TicketsServed, 4, 1, "service", "A", "counter", "1"),
				snap("2026-11-20", vocab.TicketsFirstCalls, 10, 2, "service", "A", "counter", "1"),
				snap("2026-11-20", vocab.TicketsWaitSeconds, 600, 3, "service", "A", "counter", "1"))},
		} {
			if status, er, _ := th.do(t, signedRequest{device: p.device, secret: p.key, body: p.body, at: th.now}); status != 200 {
				t.Fatalf("push %s: %d %+v", p.site, status, er)
			}
		}
		const want = "1 phút 30 giây" // 1.800 s over 20 calls
		page := getPage(t, th, "period=month&at=2026-11")
		if r := drillCells(t, page)["Nghệ An"]; r[colWait] != want {
			t.Errorf("drill-down: %v, want %s", r, want)
		}
		resp, err := http.Get(th.srv.URL + "/api/v1/report/figures?period=month&at=2026-11")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var rep FigureReport
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Figures {
			if f.Name == vocab.FigureAvgWait && (f.Text != want || f.Value == nil || *f.Value != 90) {
				t.Errorf("export: %+v, want %s", f, want)
			}
		}
	})
}
