package cccd

import (
	"errors"
	"strings"
	"testing"
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
			name:    "2024 form with extra fields kept, including an empty one",
			payload: "001099012345||Lê Văn Cường|15031999|Nam|Hà Nội|02082024|Lê Văn Dũng|Phạm Thị Em||",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "Lê Văn Cường", Birth: Date{1999, 3, 15},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 8, 2}, Extra: []string{"Lê Văn Dũng", "Phạm Thị Em", "", ""}},
		},
		{
			name:    "seven fields issued after 1 July 2024 is the new card",
			payload: "001099012345||Lê Văn Cường|15031999|Nam|Hà Nội|01072024",
			want: QR{Form: FormCCCD2024, ID: "001099012345", Name: "Lê Văn Cường", Birth: Date{1999, 3, 15},
				Sex: "Nam", Residence: "Hà Nội", Issued: Date{2024, 7, 1}},
		},
		{name: "eleven-digit ID", payload: "00109901234||A|15031999|Nam|X|20042021", wantErr: "12-digit", notCard: true},
		{name: "letters in ID", payload: "00109901234X||A|15031999|Nam|X|20042021", wantErr: "12-digit", notCard: true},
		{name: "six fields", payload: "001099012345||A|15031999|Nam|X", wantErr: "6 fields", notCard: true},
		{name: "VNeID-like opaque", payload: "eyJhbGciOiJIUzI1NiJ9.abc", notCard: true, wantErr: "1 fields"},
		{name: "bad CMND", payload: "001099012345|12345|A|15031999|Nam|X|20042021", wantErr: "field 2"},
		{name: "31 February", payload: "001099012345||A|31021999|Nam|X|20042021", wantErr: "does not exist"},
		{name: "birth with slashes", payload: "001099012345||A|15/03/1999|Nam|X|20042021", wantErr: "field 4"},
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
	f.Fuzz(func(t *testing.T, payload string) {
		q, err := ParseQR(payload)
		if err != nil {
			return
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
