package vocab

import (
	"testing"
	"time"
)

func TestWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1.000", 1234567: "1.234.567", -4500: "-4.500"} {
		if got := Number(in); got != want {
			t.Errorf("Number(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{
		0: "0 giây", 45 * time.Second: "45 giây", 12 * time.Minute: "12 phút", 90 * time.Second: "1 phút 30 giây",
		3*time.Hour + 5*time.Minute + 9*time.Second: "3 giờ 5 phút", 1500 * time.Hour: "1.500 giờ", 1499 * time.Millisecond: "1 giây",
	} {
		if got := Duration(in); got != want {
			t.Errorf("Duration(%s) = %q, want %q", in, got, want)
		}
	}
	if got := Decimal(80); got != "80,0" {
		t.Errorf("Decimal(80) = %q", got)
	}
	if got := Seconds(200.4); got != "3 phút 20 giây" {
		t.Errorf("Seconds(200.4) = %q", got)
	}
	for in, want := range map[string]string{"2026-12-02": "02/12/2026", "2026-13-40": "2026-13-40", "": ""} {
		if got := Day(in); got != want {
			t.Errorf("Day(%q) = %q, want %q", in, got, want)
		}
	}
}
