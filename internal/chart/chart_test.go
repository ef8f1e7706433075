package chart

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]float64{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 120: 200, 201: 500, 999: 1000, 1001: 2000,
		0.3: 0.5, 3.4: 5, 0.05: 0.05} {
		if got := NiceCeil(in); got < want*(1-1e-9) || got > want*(1+1e-9) {
			t.Errorf("NiceCeil(%g) = %g, want %g", in, got, want)
		}
	}
}

func days(values ...float64) []Bar {
	bars := make([]Bar, len(values))
	for i, v := range values {
		d := fmt.Sprintf("%02d/11", 16+i)
		bars[i] = Bar{Label: d, Name: "ngày " + d + "/2026", Value: v}
	}
	return bars
}

func TestLayout(t *testing.T) {
	t.Parallel()
	c := Bars{ID: "c", Title: "Số phiếu đã phát", Unit: "lượt mỗi ngày", Bars: days(0, 5, 10, 0, 3, 0, 0, 8), Total: true}
	l := c.Layout()
	if l.Empty || l.Max != 10 || len(l.Rects) != 8 {
		t.Fatalf("layout = %+v", l)
	}
	for i, r := range l.Rects {
		if got := r.Y + r.H; got < PlotBottom-0.01 || got > PlotBottom+0.01 {
			t.Errorf("bar %d does not stand on the axis: y %.2f + h %.2f", i, r.Y, r.H)
		}
		if r.X < PlotLeft || r.X+r.W > PlotLeft+PlotW+0.01 || r.W <= 0 {
			t.Errorf("bar %d outside the plot: x %.2f w %.2f", i, r.X, r.W)
		}
		if i > 0 && r.X <= l.Rects[i-1].X {
			t.Errorf("bar %d not right of bar %d", i, i-1)
		}
	}
	if l.Rects[2].H != PlotH || l.Rects[1].H != PlotH/2 || l.Rects[0].H != 0 {
		t.Errorf("heights: max %.1f, half %.1f, zero %.1f (plot %.1f)", l.Rects[2].H, l.Rects[1].H, l.Rects[0].H, PlotH)
	}
	if len(l.YTicks) != 3 || l.YTicks[2].Label != "10" || l.YTicks[0].Label != "0" {
		t.Errorf("value axis = %+v", l.YTicks)
	}
	if len(l.XTicks) == 0 || l.XTicks[0].Label != "16/11" {
		t.Errorf("label axis = %+v", l.XTicks)
	}
	for i := 1; i < len(l.XTicks); i++ {
		if l.XTicks[i].Pos-l.XTicks[i-1].Pos < MinLabelGap {
			t.Errorf("labels %d and %d overlap", i-1, i)
		}
	}
	svg := c.SVG()
	for _, want := range []string{`role="img"`, `aria-labelledby="c-t c-d"`, `<title id="c-t">Số phiếu đã phát</title>`,
		"Từ ngày 16/11/2026 đến ngày 23/11/2026: tổng 26, cao nhất 10 vào ngày 18/11/2026.", "lượt mỗi ngày", "<title>ngày 18/11/2026: 10</title>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if n := strings.Count(svg, `class="bar"`); n != 8 {
		t.Errorf("svg has %d bars, want 8", n)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("svg is not well-formed: %v", err)
	}
}

// Thirty labelled days: the labels thin out so none overlap, every bar keeps its name.
func TestCrowdedLabels(t *testing.T) {
	t.Parallel()
	bars := make([]Bar, 30)
	for i := range bars {
		bars[i] = Bar{Label: fmt.Sprintf("%02d", i+1), Name: fmt.Sprintf("ngày %02d", i+1), Value: float64(i % 4)}
	}
	l := Bars{ID: "m", Bars: bars}.Layout()
	if len(l.XTicks) >= 30 || len(l.XTicks) < 8 {
		t.Errorf("30 bars: %d labels", len(l.XTicks))
	}
	for i := 1; i < len(l.XTicks); i++ {
		if l.XTicks[i].Pos-l.XTicks[i-1].Pos < MinLabelGap {
			t.Errorf("labels %d and %d overlap", i-1, i)
		}
	}
}

// Averages are written with a decimal comma, never a point, and the axis never
// claims a half it cannot write.
func TestDecimalsTheVietnameseWay(t *testing.T) {
	t.Parallel()
	c := Bars{ID: "w", Title: "Thời gian chờ trung bình (phút)", Bars: []Bar{{Label: "08", Name: "giờ 08", Value: 3.26}, {Label: "09", Name: "giờ 09", Value: 1.5}},
		Decimals: 1, Values: true}
	svg := c.SVG()
	for _, want := range []string{"<title>giờ 08: 3,3</title>", "<title>giờ 09: 1,5</title>", ">5,0<", ">2,5<", "cao nhất 3,3 vào giờ 08."} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q: %s", want, svg)
		}
	}
	if strings.Contains(svg, "tổng") {
		t.Errorf("an average chart sums its bars: %s", svg)
	}
	if l := (Bars{Bars: []Bar{{Name: "a", Value: 1}}}).Layout(); len(l.YTicks) != 2 {
		t.Errorf("a count axis up to 1 writes a half: %+v", l.YTicks)
	}
	big := Bars{ID: "b", Bars: []Bar{{Label: "23/11", Name: "ngày 23/11/2026", Value: 1234}}}
	if svg := big.SVG(); !strings.Contains(svg, "ngày 23/11/2026: 1.234") || !strings.Contains(svg, ">2.000<") {
		t.Errorf("thousands not dotted: %s", svg)
	}
}

func TestEmptyAndEscaped(t *testing.T) {
	t.Parallel()
	for _, c := range []Bars{{ID: "e", Title: "Lượt vào cổng", Bars: days(0, 0, 0), Empty: "Chưa có số liệu trong 8 tuần qua"}, {ID: "n", Title: "x"}} {
		svg := c.SVG()
		if !c.Layout().Empty || !strings.Contains(svg, c.emptyText()) || strings.Contains(svg, `class="bar"`) {
			t.Errorf("empty chart %s: %s", c.ID, svg)
		}
	}
	if d := (Bars{Bars: days(0, 0), Empty: "Chưa có số liệu trong 8 tuần qua"}).Layout().Desc; d != "Từ ngày 16/11/2026 đến ngày 17/11/2026: chưa có số liệu trong 8 tuần qua." {
		t.Errorf("empty summary %q", d)
	}
	hostile := `<script>alert(1)</script>`
	for _, svg := range []string{Bars{ID: hostile, Title: hostile, Unit: hostile, Bars: []Bar{{Label: hostile, Name: hostile, Value: 1}}}.SVG(),
		Rows{ID: hostile, Title: hostile, Rows: []Bar{{Name: hostile, Value: 2}}}.SVG()} {
		if strings.Contains(svg, "<script>") {
			t.Errorf("not escaped: %s", svg)
		}
	}
}

func TestRows(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Đăng ký khai sinh ", 5)
	svg := Rows{ID: "s", Title: "Hồ sơ đã số hóa theo dịch vụ", Rows: []Bar{{Name: long, Value: 1200}, {Name: "Đất đai", Value: 3}}}.SVG()
	for _, want := range []string{`role="img"`, `<title id="s-t">Hồ sơ đã số hóa theo dịch vụ</title>`, "2 dòng: tổng 1.203, cao nhất 1.200", ">1.200<", "…"} {
		if !strings.Contains(svg, want) {
			t.Errorf("rows svg lacks %q: %s", want, svg)
		}
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("svg is not well-formed: %v", err)
	}
}
