package hub

import (
	"strings"
	"testing"
)

// A period the page cannot read is explained in Vietnamese, and the page shows this month.
func TestBadPeriodOnThePage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th, _ := seedStats(t)
		page := getPage(t, th, "period=year&at=2026")
		if !strings.Contains(page, "Kỳ báo cáo không hợp lệ; đang hiện số liệu tháng này.") || !strings.Contains(page, "tháng 11/2026") {
			t.Error("a bad period is not explained, or the page does not fall back to this month")
		}
		if strings.Contains(page, "must be day") {
			t.Error("the page shows an English error")
		}
	})
}
