// Package chart draws the bar charts of the agent's and the hub's pages as inline SVG:
// the page needs no script and no CDN, prints as it shows, and a screen reader reads
// each chart's title and a summary of its figures (role="img", <title>, <desc>, a
// <title> on every bar). Figures are written the Vietnamese way (vocab.Number,
// vocab.Decimal: 1.234 and 3,5).
//
// It draws what it is given and nothing else: it never reads the record or the hub's
// database, and every text it writes is escaped.
package chart

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"motcua-agent/config/vocab"
)

// The drawing's size in SVG units; pages scale it to their width.
const (
	Width, Height         = 560.0, 210.0
	left, right           = 56.0, 8.0
	top, bottom           = 16.0, 28.0
	PlotW                 = Width - left - right
	PlotH                 = Height - top - bottom
	PlotLeft, PlotBottom  = left, top + PlotH
	MinLabelGap           = 44.0 // units between two labels under the axis at least
	valueLabelMinSlot     = 22.0 // a bar this wide or wider shows its value over it
	defaultEmpty          = "Chưa có số liệu"
	colourBar, colourText = "#0b4f9c", "#555"
)

// Bar is one bar of a chart.
type Bar struct {
	// Label is written under the axis ("09", "16/11"); empty for none. Labels closer
	// than MinLabelGap to the previous one shown are left out.
	Label string
	// Name is the bar's full name, in its tooltip and in the summary ("giờ 09",
	// "ngày 18/11/2026").
	Name  string
	Value float64
}

// Bars is a vertical bar chart.
type Bars struct {
	ID    string // unique on the page: the title and summary are referenced by it
	Title string
	Unit  string // the value axis' title ("lượt mỗi ngày", "phút")
	Bars  []Bar
	// Decimals is 0 for counts (1.234) or 1 for averages and shares (3,5).
	Decimals int
	// Total says the summary gives the sum of the bars (counts, not averages).
	Total bool
	// Values writes each bar's value over it when the bar is wide enough.
	Values bool
	// Empty is shown in place of bars when every value is zero ("Chưa có số liệu" when
	// not set).
	Empty string
}

// Rect is a bar's place in the drawing.
type Rect struct{ X, Y, W, H float64 }

// Tick is a label on an axis at a position in the drawing.
type Tick struct {
	Pos   float64
	Label string
}

// Layout is a chart computed: where each bar stands, the labels of both axes, the
// summary. SVG draws it; tests read it.
type Layout struct {
	Max            float64 // the top of the value axis
	Rects          []Rect
	YTicks, XTicks []Tick
	Empty          bool
	Desc           string
}

// Say writes a value as the chart does.
func (c Bars) Say(v float64) string {
	if c.Decimals > 0 {
		return vocab.Decimal(v)
	}
	return vocab.Number(int64(math.Round(v)))
}

func (c Bars) emptyText() string {
	if c.Empty != "" {
		return c.Empty
	}
	return defaultEmpty
}

// NiceCeil is the smallest 1, 2 or 5 times a power of ten that is at least v, so the
// value axis ends on a round number; 1 for nothing.
func NiceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// Layout computes the chart.
func (c Bars) Layout() Layout {
	total, peak, peakAt := sums(c.Bars)
	l := Layout{Empty: !slices.ContainsFunc(c.Bars, func(b Bar) bool { return b.Value != 0 })}
	l.Max = NiceCeil(peak)
	n := len(c.Bars)
	if n == 0 {
		l.Desc = c.emptyText() + "."
		return l
	}
	slot := PlotW / float64(n)
	gap := min(slot*0.2, 4)
	for i, b := range c.Bars {
		h := max(b.Value, 0) / l.Max * PlotH
		l.Rects = append(l.Rects, Rect{X: left + float64(i)*slot + gap/2, W: slot - gap, Y: PlotBottom - h, H: h})
	}
	for _, v := range []float64{0, l.Max / 2, l.Max} {
		scaled := v * math.Pow(10, float64(c.Decimals))
		if math.Abs(scaled-math.Round(scaled)) > 1e-9 { // a half that the chart cannot write exactly
			continue
		}
		l.YTicks = append(l.YTicks, Tick{Pos: PlotBottom - v/l.Max*PlotH, Label: c.Say(v)})
	}
	last := -MinLabelGap
	for i, b := range c.Bars {
		mid := l.Rects[i].X + l.Rects[i].W/2
		if b.Label != "" && mid-last >= MinLabelGap {
			l.XTicks = append(l.XTicks, Tick{Pos: mid, Label: b.Label})
			last = mid
		}
	}
	span := fmt.Sprintf("Từ %s đến %s", c.Bars[0].Name, c.Bars[n-1].Name)
	switch {
	case l.Empty:
		r := []rune(c.emptyText())
		l.Desc = span + ": " + strings.ToLower(string(r[:1])) + string(r[1:]) + "."
	case c.Total:
		l.Desc = fmt.Sprintf("%s: tổng %s, cao nhất %s vào %s.", span, c.Say(total), c.Say(peak), c.Bars[peakAt].Name)
	default:
		l.Desc = fmt.Sprintf("%s: cao nhất %s vào %s.", span, c.Say(peak), c.Bars[peakAt].Name)
	}
	return l
}

// SVG draws the chart.
func (c Bars) SVG() string {
	l := c.Layout()
	var b strings.Builder
	e := html.EscapeString
	open(&b, c.ID, c.Title, l.Desc, Width, Height)
	if l.Empty {
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" class="frame" fill="none" stroke="#e3e8ee"/>`, left, top, PlotW, PlotH)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" class="empty" font-size="14" fill="%s">%s</text></svg>`,
			left+PlotW/2, top+PlotH/2, colourText, e(c.emptyText()))
		return b.String()
	}
	for _, t := range l.YTicks {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" class="grid" stroke="#e3e8ee"/>`, left, left+PlotW, t.Pos, t.Pos)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" class="tick" font-size="11" fill="%s">%s</text>`, left-6, t.Pos+4, colourText, e(t.Label))
	}
	for i, r := range l.Rects {
		bar := c.Bars[i]
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar" fill="%s"><title>%s: %s</title></rect>`,
			r.X, r.Y, r.W, r.H, colourBar, e(bar.Name), e(c.Say(bar.Value)))
		if c.Values && bar.Value > 0 && r.W >= valueLabelMinSlot*0.8 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="value" font-size="11" fill="#1b1f24" aria-hidden="true">%s</text>`,
				r.X+r.W/2, r.Y-3, e(c.Say(bar.Value)))
		}
	}
	fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" class="axis" stroke="#8c959f"/>`, left, left+PlotW, PlotBottom, PlotBottom)
	for _, t := range l.XTicks {
		x, anchor := t.Pos, "middle"
		if x+16 > Width { // the last label would be cut at the edge
			x, anchor = Width-1, "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="%s" class="tick" font-size="11" fill="%s">%s</text>`, x, PlotBottom+16, anchor, colourText, e(t.Label))
	}
	if c.Unit != "" {
		fmt.Fprintf(&b, `<text x="12" y="%g" transform="rotate(-90 12 %g)" text-anchor="middle" class="unit" font-size="11" fill="%s">%s</text>`,
			top+PlotH/2, top+PlotH/2, colourText, e(c.Unit))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Rows is a horizontal bar chart: one named row per bar, for names too long to stand
// under an axis (a service's name).
type Rows struct {
	ID, Title string
	Rows      []Bar // Name is written beside the bar; Label is not used
	Decimals  int
}

// SVG draws the rows.
func (c Rows) SVG() string {
	const rowH, nameW, maxRunes = 28.0, 330.0, 44
	say := Bars{Decimals: c.Decimals}.Say
	total, peak, peakAt := sums(c.Rows)
	desc := defaultEmpty + "."
	if len(c.Rows) > 0 {
		desc = fmt.Sprintf("%d dòng: tổng %s, cao nhất %s (%s).", len(c.Rows), say(total), say(peak), c.Rows[peakAt].Name)
	}
	h := rowH*float64(len(c.Rows)) + 8
	var b strings.Builder
	e := html.EscapeString
	open(&b, c.ID, c.Title, desc, Width, h)
	scale := max(peak, 1)
	for i, r := range c.Rows {
		y := 4 + float64(i)*rowH
		w := (Width - nameW - 60) * max(r.Value, 0) / scale
		name := r.Name
		if rs := []rune(name); len(rs) > maxRunes {
			name = string(rs[:maxRunes-1]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end" class="tick" font-size="12" fill="#1b1f24">%s</text>`, nameW-8, y+rowH/2+4, e(name))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.1f" class="bar" fill="%s"><title>%s: %s</title></rect>`,
			nameW, y+4, w, rowH-8, colourBar, e(r.Name), e(say(r.Value)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="value" font-size="12" fill="#1b1f24" aria-hidden="true">%s</text>`, nameW+w+6, y+rowH/2+4, e(say(r.Value)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// sums are the bars' total and their largest value with its index.
func sums(bars []Bar) (total, peak float64, peakAt int) {
	for i, b := range bars {
		total += b.Value
		if b.Value > peak {
			peak, peakAt = b.Value, i
		}
	}
	return total, peak, peakAt
}

// open starts an SVG with its accessible title and summary.
func open(b *strings.Builder, id, title, desc string, w, h float64) {
	e := html.EscapeString
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		e(id), w, h, e(id), e(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, e(id), e(title), e(id), e(desc))
}
