package web

import (
	"strings"
	"testing"
	"time"
)

// The hub's daily charts through the shared drawer: a bar per day, dates under
// Mondays, the day in each bar's name, the summary and the empty text in Vietnamese.
func TestDayChart(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	c := buildChart("c", "Số phiếu đã phát", start, []int64{0, 5, 10, 0, 3, 0, 0, 8})
	l := c.Layout()
	if l.Empty || l.Max != 10 || len(l.Rects) != 8 || len(l.XTicks) == 0 || l.XTicks[0].Label != "16/11" {
		t.Fatalf("layout = %+v", l)
	}
	svg := string(c.SVG())
	for _, want := range []string{`role="img"`, `<title id="c-t">Số phiếu đã phát</title>`, "tổng 26, cao nhất 10 vào ngày 18/11/2026",
		"lượt mỗi ngày", "ngày 18/11/2026: 10"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	// Eight weeks: date labels on Mondays only, never crowded.
	long := buildChart("l", "x", time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC), make([]int64, 56))
	long.Bars.Bars[3].Value = 1
	ll := long.Layout()
	if len(ll.Rects) != 56 || len(ll.XTicks) > 9 {
		t.Errorf("56 days: %d bars, %d date labels", len(ll.Rects), len(ll.XTicks))
	}
	for _, tk := range ll.XTicks[1:] {
		if d, err := time.Parse("02/01/2006", tk.Label+"/2026"); err != nil || d.Weekday() != time.Monday {
			t.Errorf("a date label off a Monday: %q", tk.Label)
		}
	}
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, c := range []dayChart{buildChart("e", "Lượt vào cổng", day, make([]int64, 56)), buildChart("n", "Lượt vào cổng", day, nil)} {
		if svg := string(c.SVG()); !strings.Contains(svg, chartEmptyText) || strings.Contains(svg, `class="bar"`) {
			t.Errorf("empty chart %s: %s", c.ID, svg)
		}
	}
	if svg := string(buildChart("o", "Lượt vào cổng", day, []int64{1234}).SVG()); !strings.Contains(svg, "ngày 23/11/2026: 1.234") ||
		!strings.Contains(svg, ">2.000<") || !strings.Contains(svg, ">23/11<") {
		t.Errorf("one day's svg lacks its value, axis or date: %s", svg)
	}
}

func TestVietnameseFigures(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]string{
		21 * time.Second: "21 giây trước", 5*time.Minute + 3*time.Second: "5 phút trước", 3 * time.Hour: "3 giờ trước",
		73 * time.Hour: "3 ngày trước", 0: "vừa xong",
	} {
		if got := agoVI(in); got != want {
			t.Errorf("agoVI(%s) = %q, want %q", in, got, want)
		}
	}
	if got, want := metricValue("tickets.wait_seconds", 36000), "10 giờ"; got != want {
		t.Errorf("wait seconds shown as %q, want %q", got, want)
	}
	if got := metricName("tickets.wait_seconds"); got != "Tổng thời gian chờ" {
		t.Errorf("a metric in seconds keeps its unit in the label: %q", got)
	}
	ict := time.FixedZone("ICT", 7*3600)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	last := time.Date(2026, 11, 19, 18, 30, 0, 0, time.UTC) // 20/11 01:30 in Vietnam
	if got, want := staleNote(&last, now, 48*time.Hour, ict), "không gửi số liệu từ 20/11/2026 (3 ngày)"; got != want {
		t.Errorf("stale note = %q, want %q", got, want)
	}
	recent := now.Add(-47 * time.Hour)
	if got := staleNote(&recent, now, 48*time.Hour, ict); got != "" {
		t.Errorf("a site heard 47 hours ago is flagged: %q", got)
	}
	if got := staleNote(nil, now, 48*time.Hour, ict); got != "chưa gửi số liệu lần nào" {
		t.Errorf("never pushed: %q", got)
	}
}

func TestPeriodWords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ kind, at, want string }{
		{"month", "2026-11", "tháng 11/2026"}, {"week", "2026-W48", "tuần 48/2026 (23/11 – 29/11/2026)"}, {"day", "2026-11-23", "ngày 23/11/2026"},
	} {
		p, err := ParsePeriod(c.kind, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := periodVI(p); got != c.want {
			t.Errorf("periodVI(%s %s) = %q, want %q", c.kind, c.at, got, c.want)
		}
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cur, _ := ParsePeriod("month", "2025-01")
	ch := periodChoices(now, cur)
	if len(ch) != 12+8+14+1 || !ch[len(ch)-1].Selected || ch[0].Label != "Tháng 11/2026" || ch[0].Value != "month:2026-11" {
		t.Errorf("choices: %d, first %+v, last %+v", len(ch), ch[0], ch[len(ch)-1])
	}
}
