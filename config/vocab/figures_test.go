package vocab

import "testing"

func TestFiguresCompute(t *testing.T) {
	wait := LookupFigure(FigureAvgWait)
	for _, c := range []struct {
		name   string
		values map[string]int64
		want   string
	}{
		// 4 tickets first called, 264 s of waiting: 66 s each, whatever became of them.
		{"first calls", map[string]int64{TicketsWaitSeconds: 264, TicketsFirstCalls: 4, TicketsServed: 1, TicketsNoShow: 1}, "1 phút 6 giây"},
		// A day an older agent kept: no first calls counted, so served and absent stand in.
		{"older record", map[string]int64{TicketsWaitSeconds: 300, TicketsServed: 3, TicketsNoShow: 2}, "1 phút"},
		{"nobody called", map[string]int64{TicketsIssued: 3, TicketsFirstCalls: 0, TicketsWaitSeconds: 0}, "–"},
		{"waits not counted here", map[string]int64{TicketsServed: 3}, "–"},
	} {
		if got := wait.Say(c.values); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	share := LookupFigure(FigureBHYTShare)
	if got := share.Say(map[string]int64{BHYTLookups: 8, BHYTLookupsOK: 7}); got != "87,5%" {
		t.Errorf("share: %q", got)
	}
	if got := share.Say(map[string]int64{BHYTLookups: 8}); got != "0,0%" {
		t.Errorf("share with no success counted: %q", got)
	}
	for _, f := range Figures() {
		for _, m := range append([]string{f.Numerator, f.Denominator}, f.Legacy...) {
			if _, ok := Lookup(m); !ok {
				t.Errorf("figure %s: metric %s not in the vocabulary", f.Name, m)
			}
		}
		if _, dup := Lookup(f.Name); dup {
			t.Errorf("figure %s has a metric's name", f.Name)
		}
	}
}

// A period across an upgrade: the old day's wait is divided by its served and absent,
// the new day's by its first calls, not every wait by the new day's first calls alone.
func TestSumDaysAcrossAnUpgrade(t *testing.T) {
	old := map[string]int64{TicketsWaitSeconds: 600, TicketsServed: 4, TicketsNoShow: 1} // 5 calls, 120 s each
	upgraded := map[string]int64{TicketsWaitSeconds: 300, TicketsFirstCalls: 5, TicketsServed: 2}
	all := SumDays([]map[string]int64{old, upgraded})
	if got := LookupFigure(FigureAvgWait).Say(all); got != "1 phút 30 giây" { // 900 s over 10 calls
		t.Errorf("across the upgrade: %s", got)
	}
	if all[TicketsServed] != 6 || all[TicketsWaitSeconds] != 900 {
		t.Errorf("sums: %v", all)
	}
	only := SumDays([]map[string]int64{old, old})
	if _, filled := only[TicketsFirstCalls]; filled {
		t.Errorf("a period of older days only gained a count it never had: %v", only)
	}
	if got := LookupFigure(FigureAvgWait).Say(only); got != "2 phút" {
		t.Errorf("older days only: %s", got)
	}
}

// The satisfaction criterion: the top two levels over the ratings, and the ratings over
// the tickets served (a ticket is rated at most once, and only once served).
func TestSatisfactionFigures(t *testing.T) {
	v := map[string]int64{TicketsServed: 8, Ratings: 6, RatingsSatisfied: 5}
	if got := LookupFigure(FigureSatisfaction).Say(v); got != "83,3%" {
		t.Errorf("satisfaction: %s", got)
	}
	if got := LookupFigure(FigureResponseRate).Say(v); got != "75,0%" {
		t.Errorf("response rate: %s", got)
	}
	if got := LookupFigure(FigureSatisfaction).Say(map[string]int64{TicketsServed: 3}); got != "–" {
		t.Errorf("satisfaction with no rating: %s", got)
	}
	if err := Check(Ratings, Add, map[string]string{DimService: "A", DimCounter: "1", DimLevel: "4"}); err != nil {
		t.Error(err)
	}
	if err := Check(RatingsSatisfied, Add, map[string]string{DimLevel: "4"}); err == nil {
		t.Error("ratings.satisfied took a level")
	}
}
