package web

import (
	"html/template"
	"time"

	"motcua-agent/internal/chart"
)

// The page's charts are daily totals over the last weeks, drawn by internal/chart (the
// one drawer the agent's reports use too): inline SVG with a title and a summary a
// screen reader reads, figures written the Vietnamese way.

const (
	chartEmptyText = "Chưa có số liệu trong 8 tuần qua"
	chartYTitle    = "lượt mỗi ngày"
)

// dayChart is one metric's daily series on the page.
type dayChart struct{ chart.Bars }

// SVG is the chart for the page's template.
func (c dayChart) SVG() template.HTML { return template.HTML(c.Bars.SVG()) }

// buildChart lays out one bar per day from start; values[i] is day start+i. Dates
// stand under Mondays (under every day when there are a week or fewer).
func buildChart(id, title string, start time.Time, values []int64) dayChart {
	c := dayChart{chart.Bars{ID: id, Title: title, Unit: chartYTitle, Total: true, Empty: chartEmptyText}}
	for i, v := range values {
		day := start.AddDate(0, 0, i)
		b := chart.Bar{Name: "ngày " + day.Format("02/01/2006"), Value: float64(v)}
		if len(values) <= 7 || day.Weekday() == time.Monday || i == 0 {
			b.Label = day.Format("02/01")
		}
		c.Bars.Bars = append(c.Bars.Bars, b)
	}
	return c
}
