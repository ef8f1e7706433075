package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/internal/browsertest"
)

// The fleet page in headless Chromium, as the province's IT team reads it during a
// rollout: a first rollout halted by the hub (its reason in Vietnamese, with the
// counts), the fixed release rolling out, each with its stages.
func TestRolloutsOnTheFleetPage(t *testing.T) {
	browsertest.Path(t)
	ctx := context.Background()
	th := startHub(t, func(o *Options) { o.Now, o.Releases, o.OpenFleet = time.Now, releaseFolder(t, "2.0.0", "2.0.1"), true })
	f := &simFleetRollout{}
	for i := range 60 {
		site, device := fmt.Sprintf("xa-%02d", i%6), fmt.Sprintf("pc-%03d", i)
		a := newSimAgent(t, th.srv.URL, site, device, enrollSim(t, th.Hub, site, device), nil)
		if i%4 == 0 {
			a.fail = func(_, v string) string {
				if v == "2.0.0" {
					return "rolled_back"
				}
				return ""
			}
		}
		f.agents = append(f.agents, a)
	}
	f.round(t, 8)
	if _, err := th.StartRollout(ctx, RolloutSpec{Release: "2.0.0", Canary: []string{"xa-00"}, MinSample: 10, HaltAt: 0.1}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.round(t, 8)
	}
	if _, err := th.AdvanceRollout(ctx, 50); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		f.round(t, 8)
	}
	if _, err := th.StartRollout(ctx, RolloutSpec{Release: "2.0.1", Percent: 100}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.round(t, 8)
	}
	rs, _ := th.Rollouts(ctx, 0)
	if len(rs) != 2 || rs[1].State != RolloutReplaced || !strings.Contains(rs[1].Reason, "replaced by rollout 2") {
		t.Fatalf("rollouts: %+v", rs)
	}
	// The first rollout halted before it was replaced; set it back to halted to show
	// how a halted rollout reads.
	th.db.Exec(`UPDATE rollouts SET state = 'halted', reason = 'halted by the hub at 50%: test' WHERE id = 1`)

	bctx := browsertest.Headless(t)
	browsertest.Do(t, bctx, "open the page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(th.srv.URL+"/"))
	text := browsertest.Text(t, bctx, "#rollouts")
	for _, want := range []string{"Cập nhật xong", "Quay lại bản cũ", "2.0.1", "Đang triển khai", "Đã dừng", "Máy chủ tự dừng:",
		"vượt ngưỡng 10%", "Thí điểm tại xa-00; sau đó mọi điểm", "thí điểm từ", "50% máy trạm từ", "100% máy trạm"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rollouts table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "halted by the hub") || strings.Contains(text, "rolled_back") {
		t.Errorf("English words reach the page:\n%s", text)
	}
	browsertest.Do(t, bctx, "scroll to the rollouts", chromedp.ScrollIntoView("#rollouts"))
	browsertest.Screenshot(t, bctx, "hub-rollouts")
}
