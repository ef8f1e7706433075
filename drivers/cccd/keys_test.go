package cccd

import (
	"strings"
	"testing"
)

func d(y, m, day int) Date { return Date{y, timeMonth(m), day} }

func TestExpiryCandidates(t *testing.T) {
	tests := []struct {
		name          string
		birth, issued Date
		want          []Date // zero Date = no expiry
		noteHas       string
	}{
		{"issued at 20: 25th birthday", d(2001, 5, 10), d(2021, 6, 1), []Date{d(2026, 5, 10)}, "25th"},
		{"issued at 24: 2-year rule gives 40th", d(1997, 5, 10), d(2021, 6, 1), []Date{d(2037, 5, 10)}, "40th"},
		{"issued at 30: 40th birthday", d(1991, 1, 2), d(2021, 3, 4), []Date{d(2031, 1, 2)}, "40th"},
		{"issued at 39: 60th birthday", d(1982, 12, 31), d(2022, 1, 15), []Date{d(2042, 12, 31)}, "60th"},
		{"issued at 59: no expiry", d(1962, 7, 7), d(2021, 8, 8), []Date{{}}, "no expiry"},
		{"issued at 80: no expiry", d(1941, 7, 7), d(2021, 8, 8), []Date{{}}, "no expiry"},
		{"2024 card issued at 10: 14th birthday", d(2014, 9, 1), d(2024, 9, 2), []Date{d(2028, 9, 1)}, "14th"},
		{"2024 card issued at 13: 25th birthday", d(2011, 9, 1), d(2024, 9, 2), []Date{d(2036, 9, 1)}, "25th"},
		{"issued on the 23rd birthday: 40th, then 25th", d(1998, 4, 4), d(2021, 4, 4), []Date{d(2038, 4, 4), d(2023, 4, 4)}, "40th"},
		{"issued the day before the 23rd birthday: 25th, then 40th", d(1998, 4, 4), d(2021, 4, 3), []Date{d(2023, 4, 4), d(2038, 4, 4)}, "25th"},
		{"issued on the 58th birthday: none, then 60th", d(1963, 4, 4), d(2021, 4, 4), []Date{{}, d(2023, 4, 4)}, "no expiry"},
		{"29 February birthday: 28 Feb, then 1 March", d(2000, 2, 29), d(2021, 3, 1), []Date{d(2025, 2, 28), d(2025, 3, 1)}, "25th"},
		{"29 February birthday, leap expiry year: one candidate", d(1996, 2, 29), d(2021, 3, 1), []Date{d(2036, 2, 29)}, "40th"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExpiryCandidates(tt.birth, tt.issued)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Expiry != tt.want[i] {
					t.Fatalf("candidate %d = %v, want %v (all: %v)", i, got[i].Expiry, tt.want[i], got)
				}
			}
			if !strings.Contains(got[0].Note, tt.noteHas) {
				t.Fatalf("note %q lacks %q", got[0].Note, tt.noteHas)
			}
		})
	}
}

func TestKeysFromQR(t *testing.T) {
	q, err := ParseQR("051091005513||Đinh Duy Tân|01011991|Nam|Hà Nội|15062021")
	if err != nil {
		t.Fatal(err)
	}
	keys := KeysFromQR(q)
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	if !keys[0].IsCAN() || keys[0].CAN != "005513" {
		t.Fatalf("first key = %+v", keys[0])
	}
	k := keys[1]
	if k.IsCAN() || k.DocumentNumber != "091005513" || k.DateOfBirth != "910101" || k.DateOfExpiry != "310101" {
		t.Fatalf("MRZ key = %+v", k)
	}
	if !strings.Contains(k.Label, "40th birthday (issued at 30)") {
		t.Fatalf("label %q", k.Label)
	}

	old, _ := ParseQR("001950000001||Hoàng Văn Già|02021950|Nam|Huế|03032021")
	keys = KeysFromQR(old)
	var exps []string
	for _, k := range keys[1:] {
		exps = append(exps, k.DateOfExpiry)
	}
	if strings.Join(exps, ",") != "991231,<<<<<<" {
		t.Fatalf("no-expiry candidates = %v", exps)
	}
}

func TestKeysFromID(t *testing.T) {
	keys, err := KeysFromID("051091005513", d(1991, 1, 1), d(2031, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].CAN != "005513" || keys[1].DocumentNumber != "091005513" || keys[1].DateOfExpiry != "310101" {
		t.Fatalf("keys = %+v", keys)
	}
	if _, err := KeysFromID("0510910055", Date{}, Date{}); err == nil {
		t.Fatal("short ID accepted")
	}
}
