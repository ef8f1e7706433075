package qrpayload

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDossierCodeOfficialShape(t *testing.T) {
	t.Parallel()
	c, err := NewClassifier("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in, code, service, unit, date string
	}{
		{"000.00.31.H40-231201-0001", "000.00.31.H40-231201-0001", "", "000.00.31.H40", "2023-12-01"},
		{"000.00.30.H40-230101-8009", "000.00.30.H40-230101-8009", "", "000.00.30.H40", "2023-01-01"}, // was read as vneid
		{"000.00.31.H40-231201-0001|1.000894", "000.00.31.H40-231201-0001", "1.000894", "000.00.31.H40", "2023-12-01"},
		{"H40.22-230701-0001|13", "H40.22-230701-0001", "13", "H40.22", "2023-07-01"},
		{"G09.12.3-240229-000123", "G09.12.3-240229-000123", "", "G09.12.3", "2024-02-29"},
		{"https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma_ho_so=000.00.31.H40-231201-0042", "000.00.31.H40-231201-0042", "", "000.00.31.H40", "2023-12-01"},
		{"https://dichvucong.nghean.gov.vn/tra-cuu-ho-so/000.00.12.H40-250315-0107", "000.00.12.H40-250315-0107", "", "000.00.12.H40", "2025-03-15"},
		{"https://motcua.hanoi.gov.vn/lookup?lang=vi&code=000.00.05.H01-241120-0003%7C2", "000.00.05.H01-241120-0003", "2", "000.00.05.H01", "2024-11-20"},
	}
	for _, tc := range cases {
		p := c.ClassifyText(tc.in)
		if p.Kind != KindDossier || p.Receipt == nil {
			t.Errorf("%q: kind %s, want dossier", tc.in, p.Kind)
			continue
		}
		r := *p.Receipt
		if r.Code != tc.code || r.Service != tc.service || r.Unit != tc.unit || r.Date != tc.date {
			t.Errorf("%q: %+v, want %s|%s unit %s date %s", tc.in, r, tc.code, tc.service, tc.unit, tc.date)
		}
	}
	for _, bad := range []string{
		"000.00.31.H40-231301-0001", // month 13
		"000.00.31.H40-230230-0001", // 30 February
		"000.00.31.H40-231201-0000", // sequence 0
		"000.00.31.H40-231201-01",   // sequence too short
		"00.00.31.H40-231201-0001",  // unit malformed
		"000.00.31.H40-231201-0001|bad service!",
	} {
		if _, err := ParseDossierCode(strings.Split(bad, "|")[0]); err == nil && !strings.Contains(bad, "|") {
			t.Errorf("%q parsed as an official code", bad)
		}
		if p := c.ClassifyText(bad); p.Kind == KindVNeID || (p.Kind == KindDossier && p.Receipt.Unit != "") {
			t.Errorf("%q: %s %+v", bad, p.Kind, p.Receipt)
		}
	}
	dc, err := ParseDossierCode("000.00.31.H40-231201-0017")
	if err != nil || dc.Seq != 17 || !dc.Received.Equal(time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v %v", dc, err)
	}
}

func TestIDNumberNeverADossierCode(t *testing.T) {
	t.Parallel()
	const id = "001099012345"
	// A province pattern loose enough to match a bare number.
	c, err := NewClassifier(`^(?:HS:)?(?P<code>[0-9A-Z.-]{6,20})(?:\|(?P<service>[0-9]+))?$`)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{id, "HS:" + id, "123456789", "HS-" + id + "-X", "000.00.31.H40-231201-0001|" + id} {
		p := c.ClassifyText(in)
		if p.Kind == KindDossier {
			t.Errorf("an ID number accepted as a dossier code: %+v", p.Receipt)
		}
		if _, err := c.ParseReceipt(in); !errors.Is(err, ErrIDNumberAsCode) && in != "HS-"+id+"-X" {
			t.Errorf("refusal without its reason: %v", err)
		}
		if strings.Contains(p.Problem, id) || strings.Contains(p.Problem, "123456789") {
			t.Errorf("the reason repeats the number: %s", p.Problem)
		}
	}
	if p := c.ClassifyText("HS:2024000123"); p.Kind != KindDossier {
		t.Errorf("a 10-digit province code refused: %+v", p)
	}
	for in, want := range map[string]bool{id: true, "x" + id + "y": true, "0010990123456": false, "123456789": true,
		"1234567890": false, "000.00.31.H40-231201-0001": false} {
		if LooksLikeIDNumber(in) != want {
			t.Errorf("LooksLikeIDNumber(%q) != %v", in, want)
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{"000.00.31.H40-231201-0001|1.000894", "https://a.vn/x?ma=000.00.31.H40-231201-0001", "001099012345", "H40-991231-9999"} {
		f.Add(s)
	}
	c, _ := NewClassifier("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := c.ParseReceipt(s)
		if err != nil {
			if !errors.Is(err, ErrNotDossierCode) && !errors.Is(err, ErrIDNumberAsCode) && !errors.Is(err, ErrBadDossierCode) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if r.Code == "" || LooksLikeIDNumber(r.Code) {
			t.Fatalf("accepted %+v", r)
		}
		if r.Unit != "" {
			if dc, err := ParseDossierCode(r.Code); err != nil || dc.Unit != r.Unit || dc.Received.Format(time.DateOnly) != r.Date {
				t.Fatalf("unit/date not from the code: %+v", r)
			}
		}
	})
}
