package cccd

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"motcua-agent/drivers/emrtd"
)

func sampleDG13() DG13 {
	return DG13{
		Version: 1, ID: "051091005513", Name: "Đinh Duy Tân", Birth: "01/01/1991", Sex: "Nam",
		Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", Origin: "Xã Tịnh Khê, Quảng Ngãi",
		Residence: "Số 5 Lê Lợi, Huế", Marks: "Nốt ruồi C:2cm trên trước đầu lông mày phải",
		Issued: "15/06/2021", Expiry: "01/01/2031", Father: "Đinh Văn Bình", Mother: "Lê Thị Cúc",
		OldID: "212345678", Field16: "ABCDEF0123456789",
	}
}

func TestDG13RoundTripBothParentLayouts(t *testing.T) {
	for _, layout := range []ParentLayout{ParentsFlat, ParentsNested} {
		for _, spouse := range []string{"", "Trần Thị Dung"} {
			want := sampleDG13()
			want.ParentLayout = layout
			want.Spouse = spouse
			got, err := ParseDG13(BuildDG13(want))
			if err != nil {
				t.Fatalf("layout %d: %v", layout, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("layout %d spouse %q:\n got %+v\nwant %+v", layout, spouse, got, want)
			}
		}
	}
}

// The byte layout the domain notes describe, written out by hand: fields out of order,
// long-form lengths, a missing field 10, no spouse (30 03 02 01 0E), nested parents,
// and an unknown field 20.
func TestParseDG13HandEncoded(t *testing.T) {
	field := func(n byte, content string) string {
		body := "0201" + hex.EncodeToString([]byte{n}) + content
		return "30" + hex.EncodeToString([]byte{byte(len(body) / 2)}) + body
	}
	str := func(tag string, s string) string {
		return tag + hex.EncodeToString([]byte{byte(len(s))}) + hex.EncodeToString([]byte(s))
	}
	set := field(2, str("0C", "Nguyễn Thị Hoa")) +
		field(1, str("13", "001199000123")) +
		field(13, "30"+hex.EncodeToString([]byte{byte(len(str("0C", "Cha")+str("0C", "Mẹ"))/2 + 4)})+
			"30"+hex.EncodeToString([]byte{byte(len(str("0C", "Cha")) / 2)})+str("0C", "Cha")+
			"30"+hex.EncodeToString([]byte{byte(len(str("0C", "Mẹ")) / 2)})+str("0C", "Mẹ")) +
		"300302010E" + // no spouse
		field(12, str("0C", "Không thời hạn")) +
		field(20, "0401FF")
	setBytes, _ := hex.DecodeString(set)
	var seq []byte
	seq = append(seq, 0x02, 0x01, 0x01, 0x06, 0x06)
	seq = append(seq, DG13OID...)
	seq = append(seq, 0x31, 0x81, byte(len(setBytes))) // long form where short would do
	seq = append(seq, setBytes...)
	b := append([]byte{0x6D, 0x82, 0x00, byte(len(seq) + 2), 0x30, byte(len(seq))}, seq...)
	got, err := ParseDG13(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "001199000123" || got.Name != "Nguyễn Thị Hoa" || got.Father != "Cha" || got.Mother != "Mẹ" ||
		got.ParentLayout != ParentsNested || got.Spouse != "" || got.Marks != "" {
		t.Fatalf("got %+v", got)
	}
	if _, ok := got.ExpiryDate(); ok || got.Expiry != "Không thời hạn" {
		t.Fatalf("expiry = %q", got.Expiry)
	}
	if !bytes.Equal(got.Unknown[20], []byte{0x02, 0x01, 0x14, 0x04, 0x01, 0xFF}) {
		t.Fatalf("unknown = %x", got.Unknown)
	}
}

func TestParseDG13Rejects(t *testing.T) {
	good := BuildDG13(sampleDG13())
	badUTF8 := bytes.Replace(BuildDG13(sampleDG13()), []byte("Kinh"), []byte("K\xffnh"), 1)
	wrongOID := bytes.Replace(BuildDG13(sampleDG13()), DG13OID, []byte{0x28, 0xD3, 0x16, 0x01, 0x00, 0x09}, 1)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"truncated", good[:len(good)/2], "exceeds"},
		{"wrong tag", append([]byte{0x61}, good[1:]...), "want 6D"},
		{"placeholder string like the peer card", []byte("\x6D\x0CDG13 sample!"), "SEQUENCE"},
		{"bad UTF-8", badUTF8, "UTF-8"},
		{"wrong OID", wrongOID, "object identifier"},
		{"huge", make([]byte, MaxDG13+1), "more than"},
		{"length beyond data", []byte{0x6D, 0x83, 0xFF, 0xFF, 0xFF, 0x30}, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDG13(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestCompareQR(t *testing.T) {
	dg := sampleDG13()
	q := QR{ID: dg.ID, OldID: dg.OldID, Name: "ĐINH DUY  TÂN", Birth: Date{1991, 1, 1}, Sex: "Nam",
		Residence: dg.Residence, Issued: Date{2021, 6, 15}}
	a := CompareQR(q, dg)
	if !a.OK() || len(a.Compared) != 7 {
		t.Fatalf("agreement = %+v", a)
	}
	q.Birth = Date{1991, 1, 2}
	q.Name = "Đinh Duy Tấn"
	a = CompareQR(q, dg)
	if a.OK() || strings.Join(a.Mismatched, ",") != "name,birth" {
		t.Fatalf("agreement = %+v", a)
	}
}

func FuzzParseDG13(f *testing.F) {
	f.Add(BuildDG13(sampleDG13()))
	nested := sampleDG13()
	nested.ParentLayout = ParentsNested
	nested.Spouse = "X"
	f.Add(BuildDG13(nested))
	f.Add([]byte{0x6D, 0x03, 0x30, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDG13(b)
		if err != nil {
			return
		}
		// A parsed DG13 rebuilds and reparses to the same known fields.
		d.Unknown = nil
		again, err := ParseDG13(BuildDG13(d))
		if err != nil {
			t.Fatalf("rebuilt DG13 does not parse: %v", err)
		}
		if again.ID != d.ID || again.Name != d.Name || again.Father != d.Father || again.Mother != d.Mother {
			t.Fatalf("round trip changed fields: %+v vs %+v", again, d)
		}
	})
}

// The 2024 card's DG13 may hold a cryptogram where the fields belong, or be refused:
// both are "encrypted, not readable by this reader", and only they are.
func TestDG13Encrypted(t *testing.T) {
	t.Parallel()
	plain := BuildDG13(DG13{Version: 1, ID: "001099012345", Name: "Nguyễn Văn An"})
	cases := []struct {
		name string
		doc  *emrtd.Document
		want emrtd.CheckStatus
	}{
		{"octet string", &emrtd.Document{Raw: map[string][]byte{"DG13": emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x04, []byte{1, 2, 3, 4}))}}, emrtd.CheckEncrypted},
		{"cryptogram 87", &emrtd.Document{Raw: map[string][]byte{"DG13": emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x87, []byte{1, 9, 9}))}}, emrtd.CheckEncrypted},
		{"cryptogram 85", &emrtd.Document{Raw: map[string][]byte{"DG13": emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x85, []byte{9}))}}, emrtd.CheckEncrypted},
		{"refused by the card", &emrtd.Document{Raw: map[string][]byte{}, PassiveAuth: emrtd.PassiveAuth{Encrypted: []int{13}}}, emrtd.CheckEncrypted},
		{"plain", &emrtd.Document{Raw: map[string][]byte{"DG13": plain}}, emrtd.CheckPassed},
		{"integer inside", &emrtd.Document{Raw: map[string][]byte{"DG13": emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x02, []byte{1}))}}, emrtd.CheckError},
		{"absent", &emrtd.Document{Raw: map[string][]byte{}}, emrtd.CheckAbsent},
		{"no document", nil, emrtd.CheckAbsent},
	}
	for _, tc := range cases {
		d, c := DG13Of(tc.doc)
		if c.Status != tc.want {
			t.Errorf("%s: %s (%s)", tc.name, c.Status, c.Detail)
		}
		if c.Status == emrtd.CheckEncrypted && (c.Detail != "encrypted, not readable by this reader" || d.Name != "") {
			t.Errorf("%s: %+v %q", tc.name, c, d.Name)
		}
		if c.Status == emrtd.CheckPassed && d.ID != "001099012345" {
			t.Errorf("%s: ID %q", tc.name, d.ID)
		}
	}
}
