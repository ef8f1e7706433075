package vocab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// How the agent's pages and the hub's say a figure in Vietnamese: one way, so a wait
// reads the same on the counter's dashboard and in the province's report.

// Number writes a whole number with a dot between thousands: 1.234.567.
func Number(v int64) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "." + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Decimal writes a number with one decimal and a decimal comma: 80,0 (a share in
// percent, an average).
func Decimal(v float64) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', 1, 64), ".", ",", 1)
}

// Duration says a duration as a person does: "45 giây", "12 phút", "1 phút 30 giây",
// "3 giờ 5 phút" (seconds dropped from an hour upwards), to the nearest second.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, Number(h)+" giờ")
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d phút", m))
	}
	if s > 0 && h == 0 {
		parts = append(parts, fmt.Sprintf("%d giây", s))
	}
	if len(parts) == 0 {
		return "0 giây"
	}
	return strings.Join(parts, " ")
}

// Seconds is Duration for a figure kept in seconds (an average wait).
func Seconds(sec float64) string { return Duration(time.Duration(sec * float64(time.Second))) }

// Day writes a day as people read it: "2026-12-02" → "02/12/2026" (anything else as
// it is).
func Day(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("02/01/2006")
}
