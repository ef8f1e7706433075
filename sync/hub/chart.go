package hub

import (
	"fmt"
	"html"
	"html/template"
	"motcua-agent/config/vocab"
	"strings"
	"time"
)

// A bar chart of daily totals, drawn on the server as inline SVG: the page needs no
// script and no CDN, prints as it shows, and a screen reader reads its title and
// summary.

const (
	chartW, chartH        = 560.0, 210.0
	chartLeft, chartRight = 56.0, 8.0
	chartTop, chartBottom = 12.0, 28.0
	chartPlotW            = chartW - chartLeft - chartRight
	chartPlotH            = chartH - chartTop - chartBottom
	chartMinLabelGap      = 44.0 // pixels between two date labels at least
	chartEmptyText        = "Chưa có số liệu trong 8 tuần qua"
	chartYTitle           = "lượt mỗi ngày"
)

// chartBar is one day's bar in the SVG's coordinates.
type chartBar struct {
	X, Y, W, H float64
	Day        time.Time
	Value      int64
}

// chartTick is a label on an axis at a position in the SVG's coordinates.
type chartTick struct {
	Pos   float64
	Label string
}

// chart is a computed bar chart; SVG draws it.
type chart struct {
	ID, Title, Desc string
	Max             int64 // the top of the value axis
	Bars            []chartBar
	YTicks, XTicks  []chartTick
	Empty           bool
}

// niceCeil is the smallest 1, 2 or 5 times a power of ten that is at least v, so the
// value axis ends on a round number; 1 for nothing.
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// buildChart lays out one bar per day from start; values[i] is day start+i.
func buildChart(id, title string, start time.Time, values []int64) chart {
	c := chart{ID: id, Title: title, Empty: true}
	var total, top int64
	topDay := 0
	for i, v := range values {
		total += v
		if v > top {
			top, topDay = v, i
		}
		if v != 0 {
			c.Empty = false
		}
	}
	c.Max = niceCeil(top)
	n := len(values)
	if n == 0 {
		c.Desc = chartEmptyText
		return c
	}
	slot := chartPlotW / float64(n)
	gap := slot * 0.2
	if gap > 4 {
		gap = 4
	}
	for i, v := range values {
		h := float64(v) / float64(c.Max) * chartPlotH
		c.Bars = append(c.Bars, chartBar{
			X: chartLeft + float64(i)*slot + gap/2, W: slot - gap,
			Y: chartTop + chartPlotH - h, H: h,
			Day: start.AddDate(0, 0, i), Value: v,
		})
	}
	for _, v := range []int64{0, c.Max / 2, c.Max} {
		if v == c.Max/2 && c.Max%2 != 0 {
			continue
		}
		c.YTicks = append(c.YTicks, chartTick{Pos: chartTop + chartPlotH - float64(v)/float64(c.Max)*chartPlotH, Label: vocab.Number(v)})
	}
	// Date labels on Mondays (every day when there are few), never closer than the gap.
	last := -chartMinLabelGap
	for i, b := range c.Bars {
		mid := b.X + b.W/2
		if (n <= 7 || b.Day.Weekday() == time.Monday || i == 0) && mid-last >= chartMinLabelGap {
			c.XTicks = append(c.XTicks, chartTick{Pos: mid, Label: b.Day.Format("02/01")})
			last = mid
		}
	}
	end := start.AddDate(0, 0, n-1)
	if c.Empty {
		c.Desc = fmt.Sprintf("Từ %s đến %s: chưa có số liệu.", start.Format("02/01/2006"), end.Format("02/01/2006"))
	} else {
		c.Desc = fmt.Sprintf("Từ %s đến %s: tổng %s, cao nhất %s ngày %s.", start.Format("02/01/2006"), end.Format("02/01/2006"),
			vocab.Number(total), vocab.Number(top), start.AddDate(0, 0, topDay).Format("02/01/2006"))
	}
	return c
}

// SVG draws the chart. Every text is escaped: titles come from the vocabulary, but
// nothing here trusts that.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		e(c.ID), chartW, chartH, e(c.ID), e(c.ID))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, e(c.ID), e(c.Title), e(c.ID), e(c.Desc))
	if c.Empty {
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" class="frame"/>`, chartLeft, chartTop, chartPlotW, chartPlotH)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" class="empty">%s</text></svg>`,
			chartLeft+chartPlotW/2, chartTop+chartPlotH/2, e(chartEmptyText))
		return template.HTML(b.String())
	}
	for _, t := range c.YTicks {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" class="grid"/>`, chartLeft, chartLeft+chartPlotW, t.Pos, t.Pos)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" class="tick">%s</text>`, chartLeft-6, t.Pos+4, e(t.Label))
	}
	for _, bar := range c.Bars {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s: %s</title></rect>`,
			bar.X, bar.Y, bar.W, bar.H, bar.Day.Format("02/01/2006"), vocab.Number(bar.Value))
	}
	base := chartTop + chartPlotH
	fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" class="axis"/>`, chartLeft, chartLeft+chartPlotW, base, base)
	for _, t := range c.XTicks {
		x, anchor := t.Pos, "middle"
		if x+16 > chartW { // the last day's label would be cut at the edge
			x, anchor = chartW-1, "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="%s" class="tick">%s</text>`, x, base+16, anchor, e(t.Label))
	}
	fmt.Fprintf(&b, `<text x="12" y="%g" transform="rotate(-90 12 %g)" text-anchor="middle" class="unit">%s</text>`,
		chartTop+chartPlotH/2, chartTop+chartPlotH/2, e(chartYTitle))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
