package vocab

import "math"

// Figures people read that are not counted but computed from counted metrics: an
// average wait, a share of successes. Each is defined here once (numerator and
// denominator) and computed by Figure.Compute only, so the counter's dashboard, its
// reports, the province's page and exports and the national hub say the same number
// for the same day and place.

// Unit is how a figure is read.
type Unit string

const (
	UnitSeconds Unit = "seconds" // an average duration, in seconds
	UnitPercent Unit = "percent" // a share, in percent
)

// Figure names.
const (
	FigureAvgWait        = "tickets.avg_wait"
	FigureAvgService     = "tickets.avg_service"
	FigureDigitizedShare = "dossiers.digitized_share"
	FigureBHYTShare      = "bhyt.lookups_ok_share"
	// The satisfaction criterion of the service index (Decision 766/QĐ-TTg): the share
	// of ratings in the top two levels, and how many of the served gave a rating.
	FigureSatisfaction = "ratings.satisfied_share"
	FigureResponseRate = "ratings.response_rate"
)

// Figure is a ratio of two metrics' sums over the same days and places.
type Figure struct {
	Name        string
	Label       string // Vietnamese
	Numerator   string // a metric
	Denominator string // a metric
	// Legacy is what the denominator is summed from in records kept before the
	// Denominator metric was counted (an older agent's days); it is used only when the
	// values hold no Denominator at all.
	Legacy []string
	Unit   Unit
}

var figureDefs = []Figure{
	// Every ticket called at least once waited from its issue to its first call; a
	// ticket still waiting, or cancelled before a call, has no wait yet.
	{FigureAvgWait, "Thời gian chờ trung bình (từ lúc lấy số đến lần gọi đầu)", TicketsWaitSeconds, TicketsFirstCalls,
		[]string{TicketsServed, TicketsNoShow}, UnitSeconds},
	{FigureAvgService, "Thời gian phục vụ trung bình", TicketsServiceSeconds, TicketsServed, nil, UnitSeconds},
	{FigureDigitizedShare, "Tỷ lệ hồ sơ được số hóa (%)", DossiersDigitized, DossiersReceived, nil, UnitPercent},
	{FigureBHYTShare, "Tỷ lệ tra cứu thẻ BHYT thành công (%)", BHYTLookupsOK, BHYTLookups, nil, UnitPercent},
	{FigureSatisfaction, "Tỷ lệ người dân hài lòng (%)", RatingsSatisfied, Ratings, nil, UnitPercent},
	// A ticket is rated only after it is finished, and at most once: the served are
	// exactly the tickets that could have been rated.
	{FigureResponseRate, "Tỷ lệ lượt phục vụ được đánh giá (%)", Ratings, TicketsServed, nil, UnitPercent},
}

// Figures lists every figure, in the order pages show them.
func Figures() []Figure { return append([]Figure(nil), figureDefs...) }

// LookupFigure returns a figure's definition; it panics on a name not defined here
// (a programming error: figures are named by the constants above).
func LookupFigure(name string) Figure {
	for _, f := range figureDefs {
		if f.Name == name {
			return f
		}
	}
	panic("vocab: no figure " + name)
}

// Compute is the figure for values, the sums of its metrics over some days and places
// (a metric absent from values was not counted there). It is rounded to a tenth (of a
// second, or of a percent), and false when there is nothing to divide: a zero
// denominator, or an average whose durations were not counted there (an older
// record's counter, whose waits were the site's).
func (f Figure) Compute(values map[string]int64) (float64, bool) {
	num, ok := values[f.Numerator]
	if !ok && f.Unit == UnitSeconds {
		return 0, false
	}
	den, ok := values[f.Denominator]
	if !ok {
		for _, m := range f.Legacy {
			den += values[m]
		}
	}
	if den <= 0 {
		return 0, false
	}
	v := float64(num) / float64(den)
	if f.Unit == UnitPercent {
		v *= 100
	}
	return math.Round(v*10) / 10, true
}

// Say is the figure as a person reads it: "1 phút 6 giây", "78,5%", or "–" when there
// is none.
func (f Figure) Say(values map[string]int64) string {
	v, ok := f.Compute(values)
	if !ok {
		return "–"
	}
	return f.Format(v)
}

// Format says a computed value of the figure.
func (f Figure) Format(v float64) string {
	if f.Unit == UnitPercent {
		return Decimal(v) + "%"
	}
	return Seconds(v)
}

// SumDays adds up the metric values of several days (or places' days) for a period.
// When some days counted a figure's denominator and others were kept before it was
// (a period across an agent's upgrade), each older day's denominator is taken from its
// legacy metrics, so every day's numerator is divided by that day's own count. A
// period with no day counting it is left alone: Compute falls back for all of it.
func SumDays(days []map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, d := range days {
		for m, v := range d {
			out[m] += v
		}
	}
	for _, f := range figureDefs {
		if len(f.Legacy) == 0 {
			continue
		}
		if _, counted := out[f.Denominator]; !counted {
			continue
		}
		for _, d := range days {
			if _, counted := d[f.Denominator]; counted {
				continue
			}
			for _, m := range f.Legacy {
				out[f.Denominator] += d[m]
			}
		}
	}
	return out
}
