package hub

import (
	"strings"
	"testing"
	"time"
)

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 120: 200, 201: 500, 999: 1000, 1001: 2000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestChartLayout(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	c := buildChart("c", "Số phiếu đã phát", start, []int64{0, 5, 10, 0, 3, 0, 0, 8})
	if c.Empty || c.Max != 10 || len(c.Bars) != 8 {
		t.Fatalf("chart = %+v", c)
	}
	base := chartTop + chartPlotH
	for i, b := range c.Bars {
		if got := b.Y + b.H; got < base-0.01 || got > base+0.01 {
			t.Errorf("bar %d does not stand on the axis: y %.2f + h %.2f", i, b.Y, b.H)
		}
		if b.X < chartLeft || b.X+b.W > chartLeft+chartPlotW+0.01 || b.W <= 0 {
			t.Errorf("bar %d outside the plot: x %.2f w %.2f", i, b.X, b.W)
		}
		if i > 0 && b.X <= c.Bars[i-1].X {
			t.Errorf("bar %d not right of bar %d", i, i-1)
		}
	}
	if c.Bars[2].H != chartPlotH || c.Bars[1].H != chartPlotH/2 || c.Bars[0].H != 0 {
		t.Errorf("heights: max %.1f, half %.1f, zero %.1f (plot %.1f)", c.Bars[2].H, c.Bars[1].H, c.Bars[0].H, chartPlotH)
	}
	if !c.Bars[7].Day.Equal(start.AddDate(0, 0, 7)) {
		t.Errorf("last bar's day = %s", c.Bars[7].Day)
	}
	if len(c.YTicks) != 3 || c.YTicks[2].Label != "10" || c.YTicks[0].Label != "0" {
		t.Errorf("value axis = %+v", c.YTicks)
	}
	if len(c.XTicks) == 0 || c.XTicks[0].Label != "16/11" {
		t.Errorf("date axis = %+v", c.XTicks)
	}
	svg := string(c.SVG())
	for _, want := range []string{`role="img"`, "<title id=\"c-t\">Số phiếu đã phát</title>", "tổng 26, cao nhất 10 ngày 18/11/2026", "lượt mỗi ngày", "18/11/2026: 10"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if n := strings.Count(svg, `class="bar"`); n != 8 {
		t.Errorf("svg has %d bars, want 8", n)
	}

	// Eight weeks: date labels on Mondays only, never crowded.
	long := buildChart("l", "x", time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC), make([]int64, 56))
	long.Bars[3].Value = 1
	if len(long.Bars) != 56 || len(long.XTicks) > 9 {
		t.Errorf("56 days: %d bars, %d date labels", len(long.Bars), len(long.XTicks))
	}
	for i := 1; i < len(long.XTicks); i++ {
		if long.XTicks[i].Pos-long.XTicks[i-1].Pos < chartMinLabelGap {
			t.Errorf("date labels %d and %d overlap", i-1, i)
		}
	}
}

func TestChartEmptyAndOneDay(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, c := range []chart{buildChart("e", "Lượt vào cổng", day, make([]int64, 56)), buildChart("n", "Lượt vào cổng", day, nil)} {
		svg := string(c.SVG())
		if !c.Empty || !strings.Contains(svg, chartEmptyText) || strings.Contains(svg, `class="bar"`) {
			t.Errorf("empty chart %s: empty %v, svg %s", c.ID, c.Empty, svg)
		}
	}
	one := buildChart("o", "Lượt vào cổng", day, []int64{1234})
	if one.Empty || len(one.Bars) != 1 || one.Max != 2000 || one.Bars[0].W <= 0 || one.Bars[0].H <= 0 {
		t.Fatalf("one day = %+v", one)
	}
	if len(one.XTicks) != 1 || one.XTicks[0].Label != "23/11" {
		t.Errorf("one day's date label = %+v", one.XTicks)
	}
	if svg := string(one.SVG()); !strings.Contains(svg, "23/11/2026: 1.234") || !strings.Contains(svg, ">2.000<") {
		t.Errorf("one day's svg lacks its value or axis: %s", svg)
	}
	// A title that is not trusted is escaped.
	if svg := string(buildChart("x", `<script>alert(1)</script>`, day, []int64{1}).SVG()); strings.Contains(svg, "<script>") {
		t.Errorf("title not escaped: %s", svg)
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
