package wire

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The rules ValidName and ParseDay check by hand, written as the regular expressions
// they replaced.
var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	dayPattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// ValidName and ParseDay's form check accept exactly what the patterns accept.
func FuzzNamesAndDaysMatchTheirPatterns(f *testing.F) {
	for _, s := range []string{"", "a", "pc-01", "tickets.issued", "x:y_z", "-a", ".a", "a b", "é", "a\n", "Q1\x00",
		strings.Repeat("a", MaxNameLen), strings.Repeat("a", MaxNameLen+1), "2026-12-06", "2026-1-06", "２026-12-06",
		"2026-12-06\n", "20261206", "2026/12/06", "0000-00-00", "9999-99-99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantName := len(s) > 0 && len(s) <= MaxNameLen && namePattern.MatchString(s)
		if got := ValidName(s); got != wantName {
			t.Fatalf("ValidName(%q) = %v, the pattern says %v", s, got, wantName)
		}
		if got, want := isDayForm(s), dayPattern.MatchString(s); got != want {
			t.Fatalf("isDayForm(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}

// TestDayOf: the day is the province's calendar day, not UTC's.
func TestDayOf(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 16, 59, 59, 0, time.UTC), "2026-12-06"},
		{time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC), "2026-12-07"},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), "2027-01-01"},
	} {
		got := DayOf(c.at, ict)
		want, err := ParseDay(c.want)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("DayOf(%s): %s, want %s", c.at, got, c.want)
		}
	}
}
