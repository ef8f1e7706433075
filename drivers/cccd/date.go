package cccd

import (
	"errors"
	"fmt"
	"time"
)

// Date is a calendar date with no time zone: birth, issue and expiry dates on the card
// are civil dates, and converting them through a time.Location only invites
// off-by-one-day errors.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is the zero Date (unknown or absent).
func (d Date) IsZero() bool { return d == Date{} }

// String gives the ISO form YYYY-MM-DD.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// YYMMDD gives the six-character MRZ form.
func (d Date) YYMMDD() string {
	return fmt.Sprintf("%02d%02d%02d", d.Year%100, int(d.Month), d.Day)
}

// Before reports whether d is strictly earlier than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// Dates are personal data (birth dates): errors describe the problem, never the value,
// because they reach logs and stored rejection reasons.

// newDate validates y-m-d as a real calendar date.
func newDate(y, m, day int) (Date, error) {
	if y < 1900 || y > 2199 || m < 1 || m > 12 || day < 1 || day > 31 {
		return Date{}, errors.New("date out of range (day 1-31, month 1-12, year 1900-2199)")
	}
	t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return Date{}, errors.New("date does not exist in the calendar")
	}
	return Date{y, time.Month(m), day}, nil
}

// parseDigits reads s as an unsigned decimal of exactly len(s) ASCII digits.
func parseDigits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ParseDDMMYYYY parses the QR's date form, eight digits with no separator.
func ParseDDMMYYYY(s string) (Date, error) {
	if len(s) != 8 {
		return Date{}, fmt.Errorf("date of %d characters: want 8 digits DDMMYYYY", len(s))
	}
	d, ok1 := parseDigits(s[0:2])
	m, ok2 := parseDigits(s[2:4])
	y, ok3 := parseDigits(s[4:8])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date of %d characters: want 8 digits DDMMYYYY", len(s))
	}
	return newDate(y, m, d)
}

// ParseSlashDate parses the chip's DG13 date form dd/mm/yyyy.
func ParseSlashDate(s string) (Date, error) {
	if len(s) != 10 || s[2] != '/' || s[5] != '/' {
		return Date{}, fmt.Errorf("date of %d characters: want dd/mm/yyyy", len(s))
	}
	d, ok1 := parseDigits(s[0:2])
	m, ok2 := parseDigits(s[3:5])
	y, ok3 := parseDigits(s[6:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date of %d characters: want dd/mm/yyyy", len(s))
	}
	return newDate(y, m, d)
}

// ParseYYMMDD parses an MRZ date. The century is chosen relative to pivot: a birth
// date is the latest candidate not after the pivot, an expiry date the earliest candidate
// not more than 50 years before it. Callers that know better pass their own pivot year.
func ParseYYMMDD(s string, pivotYear int, future bool) (Date, error) {
	if len(s) != 6 {
		return Date{}, fmt.Errorf("date of %d characters: want 6 digits YYMMDD", len(s))
	}
	yy, ok1 := parseDigits(s[0:2])
	m, ok2 := parseDigits(s[2:4])
	d, ok3 := parseDigits(s[4:6])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date of %d characters: want 6 digits YYMMDD", len(s))
	}
	century := pivotYear - pivotYear%100
	y := century + yy
	if future {
		if y < pivotYear-50 {
			y += 100
		}
	} else if y > pivotYear {
		y -= 100
	}
	return newDate(y, m, d)
}

// birthdayAt returns the date on which someone born on b turns age. A 29 February
// birthday in a common year falls on 28 February here; alternateBirthday gives 1 March.
func birthdayAt(b Date, age int) Date {
	y := b.Year + age
	if b.Month == time.February && b.Day == 29 && !isLeap(y) {
		return Date{y, time.February, 28}
	}
	return Date{y, b.Month, b.Day}
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// ageOn is the age in completed years of someone born on b, on the date on.
func ageOn(b, on Date) int {
	age := on.Year - b.Year
	if on.Month < b.Month || (on.Month == b.Month && on.Day < b.Day) {
		age--
	}
	return age
}
