package cccd

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestParseQR(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    QR
		wantErr string
		notCard bool
	}{
		{
			name:    "2021 seven fields",
			payload: "001099012345|123456789|Nguyễn Văn An|15031999|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|20042021",
			want: QR{Form: FormCCCD2021, ID: "001099012345", OldID: "123456789", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nam", Residence: "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "no CMND, CRLF from the scanner",
			payload: "079303001122||Trần Thị Bình|01012003|Nữ|Quận 1, TP. Hồ Chí Minh|10102021\r\n",
			want: QR{Form: FormCCCD2021, ID: "079303001122", Name: "Trần Thị Bình",
				Birth: Date{2003, 1, 1}, Sex: "Nữ", Residence: "Quận 1, TP. Hồ Chí Minh", Issued: Date{2021, 10, 10}},
		},
		{
			name:    "2024 form with extra fields kept, an empty one inside, trailing separators dropped",
			payload: "001099012345||Lê Văn Cường|15031999|Nam|Hà Nội|02082024|Lê Văn Dũng||Phạm Thị Em||",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "Lê Văn Cường", Birth: Date{1999, 3, 15},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 8, 2}, Extra: []string{"Lê Văn Dũng", "", "Phạm Thị Em"}},
		},
		{
			name:    "one trailing separator on a 2021 card does not make it a 2024 card",
			payload: "001099012345|123456789|Nguyễn Văn An|15031999|Nam|Hà Nội|20042021|",
			want: QR{Form: FormCCCD2021, ID: "001099012345", OldID: "123456789", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nam", Residence: "Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "a non-empty field after the seventh is the new form",
			payload: "001099012345||An|15031999|Nam|Hà Nội|20042021|x",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "An", Birth: Date{1999, 3, 15},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2021, 4, 20}, Extra: []string{"x"}},
		},
		{
			name:    "slashed dates from a phone app",
			payload: "001099012345|123456789|Nguyễn Văn An|15/03/1999|Nam|Hà Nội|20/04/2021",
			want: QR{Form: FormCCCD2021, ID: "001099012345", OldID: "123456789", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nam", Residence: "Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "single-digit day and month, dashes, dots and ISO",
			payload: "001099012345||An|5/3/1999|Nam|Hà Nội|2024-08-02",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "An", Birth: Date{1999, 3, 5},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 8, 2}},
		},
		{
			name:    "dotted and dashed dd.mm.yyyy",
			payload: "001099012345||An|05.03.1999|Nam|Hà Nội|20-04-2021",
			want: QR{Form: FormCCCD2021, ID: "001099012345", Name: "An", Birth: Date{1999, 3, 5},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "six-field form without the old-ID field",
			payload: "001099012345|Nguyễn Văn An|15031999|Nam|Hà Nội|20042021",
			want: QR{Form: FormCCCD2021, ID: "001099012345", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nam", Residence: "Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "six-field form with slashes and a trailing separator",
			payload: "001099012345|Nguyễn Văn An|15/03/1999|Nam|Hà Nội|02/08/2024|",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 8, 2}},
		},
		{
			name:    "byte-order mark and NFD text come back composed",
			payload: "\ufeff001099012345||Nguye\u0302\u0303n Va\u0306n An|15031999|Nu\u031b\u0303|Ha\u0300 No\u0323\u0302i|20042021",
			want: QR{Form: FormCCCD2021, ID: "001099012345", Name: "Nguyễn Văn An",
				Birth: Date{1999, 3, 15}, Sex: "Nữ", Residence: "Hà Nội", Issued: Date{2021, 4, 20}},
		},
		{
			name:    "seven fields issued after 1 July 2024 is the new card",
			payload: "001099012345||Lê Văn Cường|15031999|Nam|Hà Nội|01072024",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "Lê Văn Cường", Birth: Date{1999, 3, 15},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 7, 1}},
		},
		{name: "eleven-digit ID", payload: "00109901234||A|15031999|Nam|X|20042021", wantErr: "12-digit", notCard: true},
		{name: "letters in ID", payload: "00109901234X||A|15031999|Nam|X|20042021", wantErr: "12-digit", notCard: true},
		{name: "six fields with an empty old-ID field are cut short", payload: "001099012345||A|15031999|Nam|X", wantErr: "truncated"},
		{name: "six fields with an old ID are cut short", payload: "001099012345|123456789|A|15031999|Nam|X", wantErr: "truncated"},
		{name: "seven fields whose issue date is empty", payload: "001099012345||A|15031999|Nam|X|", wantErr: "truncated"},
		{name: "five fields", payload: "001099012345|A|15031999|Nam|X", wantErr: "5 fields", notCard: true},
		{name: "only separators", payload: "||||||", wantErr: "fields", notCard: true},
		{name: "year of two digits", payload: "001099012345||A|15/03/99|Nam|X|20042021", wantErr: "field 4"},
		{name: "mixed separators", payload: "001099012345||A|15/03-1999|Nam|X|20042021", wantErr: "field 4"},
		{name: "month 13 with slashes", payload: "001099012345||A|15/13/1999|Nam|X|20042021", wantErr: "out of range"},
		{name: "three-digit day", payload: "001099012345||A|015/3/1999|Nam|X|20042021", wantErr: "field 4"},
		{name: "VNeID-like opaque", payload: "eyJhbGciOiJIUzI1NiJ9.abc", notCard: true, wantErr: "1 fields"},
		{name: "bad CMND", payload: "001099012345|12345|A|15031999|Nam|X|20042021", wantErr: "field 2"},
		{name: "31 February", payload: "001099012345||A|31021999|Nam|X|20042021", wantErr: "does not exist"},
		{name: "birth in words", payload: "001099012345||A|15 tháng 3|Nam|X|20042021", wantErr: "field 4"},
		{name: "issue before birth", payload: "001099012345||A|15031999|Nam|X|20041998", wantErr: "before the birth"},
		{name: "empty name", payload: "001099012345|||15031999|Nam|X|20042021", wantErr: "name"},
		{name: "not UTF-8", payload: "001099012345||Nguy\xe1n|15031999|Nam|X|20042021", wantErr: "UTF-8"},
		{name: "too long", payload: strings.Repeat("9", MaxQRPayload+1), notCard: true, wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQR(tt.payload)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if errors.Is(err, ErrNotCardQR) != tt.notCard {
					t.Fatalf("errors.Is(err, ErrNotCardQR) = %v, want %v", !tt.notCard, tt.notCard)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !qrEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func qrEqual(a, b QR) bool {
	if len(a.Extra) != len(b.Extra) {
		return false
	}
	for i := range a.Extra {
		if a.Extra[i] != b.Extra[i] {
			return false
		}
	}
	return a.Form == b.Form && a.ID == b.ID && a.OldID == b.OldID && a.Name == b.Name && a.Birth == b.Birth &&
		a.Sex == b.Sex && a.Residence == b.Residence && a.Issued == b.Issued
}

func TestCANAndDocumentNumber(t *testing.T) {
	can, err := CANFromID("051091005513")
	if err != nil || can != "005513" {
		t.Fatalf("CAN = %q, %v", can, err)
	}
	doc, err := DocumentNumberFromID("051091005513")
	if err != nil || doc != "091005513" {
		t.Fatalf("doc = %q, %v", doc, err)
	}
	if _, err := CANFromID("12345"); err == nil {
		t.Fatal("short ID accepted")
	}
}

func FuzzParseQR(f *testing.F) {
	f.Add("001099012345|123456789|Nguyễn Văn An|15031999|Nam|Hà Nội|20042021")
	f.Add("001099012345||Lê Văn Cường|29022000|Nam|Hà Nội|02082024|x|y|")
	f.Add("||||||")
	f.Add("\ufeff001099012345|Nguye\u0302\u0303n Va\u0306n An|15/03/1999|Nu\u031b\u0303|Ha\u0300 No\u0323\u0302i|20/04/2021|")
	f.Add("001099012345||An|5-3-1999|Nam|X|2024-08-02|||")
	f.Fuzz(func(t *testing.T, payload string) {
		q, err := ParseQR(payload)
		if err != nil {
			return
		}
		if !norm.NFC.IsNormalString(q.Name) || !norm.NFC.IsNormalString(q.Residence) {
			t.Fatalf("text not composed: %+q", q.Name)
		}
		if n := len(q.Extra); n > 0 && q.Extra[n-1] == "" {
			t.Fatalf("trailing empty field kept: %q", q.Extra)
		}
		if (q.Form == FormCCCD2024) != (len(q.Extra) > 0 || !q.Issued.Before(identityLawStart)) {
			t.Fatalf("form %s for a card issued %s", q.Form, q.Issued)
		}
		// The same payload as a phone app might send it (a byte-order mark, decomposed
		// text, a trailing separator) must parse to the same card.
		if core := strings.Trim(payload, " \t\r\n\x00\ufeff"); len(core)*3+8 < MaxQRPayload {
			variant := "\ufeff" + norm.NFD.String(core) + "|"
			v, err := ParseQR(variant)
			if err != nil {
				t.Fatalf("variant refused: %v", err)
			}
			if !qrEqual(q, v) {
				t.Fatalf("variant differs:\n%+v\n%+v", q, v)
			}
		}
		if !isDigits(q.ID, 12) || q.Birth.IsZero() || q.Issued.IsZero() || q.Issued.Before(q.Birth) {
			t.Fatalf("accepted an invalid QR: %+v", q)
		}
		// Whatever parses must yield keys without panicking.
		keys := KeysFromQR(q)
		if len(keys) < 2 || !keys[0].IsCAN() {
			t.Fatalf("keys = %v", keys)
		}
	})
}

// Errors reach logs and stored rejection reasons: they must not carry the holder's data.
func TestQRErrorsCarryNoPersonalData(t *testing.T) {
	for _, p := range []string{
		"001099012345||Nguyễn Văn An|31021990|Nam|Hà Nội|15062021",
		"001099012345||Nguyễn Văn An|3102199|Nam|Hà Nội|15062021",
		"001099012345||Nguyễn Văn An|01021990|Nam|Hà Nội|1506202x",
	} {
		_, err := ParseQR(p)
		if err == nil {
			t.Fatalf("accepted %q", p)
		}
		for _, secret := range []string{"31021990", "3102199", "1506202x", "001099012345", "Nguyễn", "02/1990", "31/02"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q carries %q", err, secret)
			}
		}
	}
}
