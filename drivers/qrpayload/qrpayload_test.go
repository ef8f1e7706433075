package qrpayload

import (
	"errors"
	"motcua-agent/drivers/qrtext"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	card2021 = "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Hai Bà Trưng, Hà Nội|20042021"
	card2024 = "040199000123||Trần Thị Ánh|01021999|Nữ|Xóm 3, Hưng Dũng, Nghệ An|05082024|Trần Văn Cả|Lê Thị Dần"
)

func TestClassify(t *testing.T) {
	c, err := NewClassifier("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in      string
		kind    Kind
		code    string
		service string
	}{
		{card2021, KindCCCD2021, "", ""},
		{card2021 + "\r\n", KindCCCD2021, "", ""},
		{card2024, KindCCCD2024, "", ""},
		{"00109901234|123456789|A|15031990|Nam|x|20042021", KindUnknown, "", ""}, // 11 digits: not a card QR
		{"001099012345|123456789|Nguyễn|15131990|Nam|x|20042021", KindCCCDInvalid, "", ""},
		{"H40.22-230701-0001", KindDossier, "H40.22-230701-0001", ""},
		{"H40.22-230701-0001|13", KindDossier, "H40.22-230701-0001", "13"},
		{"https://dichvucong.nghean.gov.vn/tra-cuu?ma=H40.22-230701-0042", KindDossier, "H40.22-230701-0042", ""},
		{"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", KindVNeID, "", ""},
		{"https://app.vneid.gov.vn/qr/abc", KindVNeID, "", ""},
		{"https://example.com/qr/abc", KindUnknown, "", ""},
		{"xin chào", KindUnknown, "", ""},
	}
	for _, tc := range cases {
		p, err := c.Classify([]byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if p.Kind != tc.kind {
			t.Errorf("%q: kind %s, want %s (%s)", tc.in, p.Kind, tc.kind, p.Problem)
		}
		if tc.code != "" && (p.Receipt == nil || p.Receipt.Code != tc.code || p.Receipt.Service != tc.service) {
			t.Errorf("%q: receipt %+v, want %s|%s", tc.in, p.Receipt, tc.code, tc.service)
		}
	}
	p, _ := c.Classify([]byte(card2021))
	if p.Card.ID != "001099012345" || p.Card.Name != "Nguyễn Văn Bình" {
		t.Errorf("card fields: %+v", p.Card)
	}
}

// The card's QR as phones, apps and older scanners produce it: each variant is the same
// card, and what is really broken is still refused.
func TestFieldVariants(t *testing.T) {
	t.Parallel()
	c, err := NewClassifier("")
	if err != nil {
		t.Fatal(err)
	}
	const name = "Nguyễn Văn Bình"
	cases := []struct {
		what string
		in   string
		kind Kind
	}{
		{"slashed dates", "001099012345|123456789|Nguyễn Văn Bình|15/03/1990|Nam|Hà Nội|20/04/2021", KindCCCD2021},
		{"six fields without the old ID", "001099012345|Nguyễn Văn Bình|15031990|Nam|Hà Nội|20042021", KindCCCD2021},
		{"one trailing separator", card2021 + "|", KindCCCD2021},
		{"trailing separators and CRLF", card2021 + "|||\r\n", KindCCCD2021},
		{"byte-order mark", "\ufeff" + card2021, KindCCCD2021},
		{"NFD text", norm.NFD.String(card2021), KindCCCD2021},
		{"2024 card by its issue date, seven fields", "040199000123||Nguyễn Văn Bình|01021999|Nữ|Nghệ An|05082024", KindCCCD2024},
		{"2024 card, six fields, slashes, trailing separator", "040199000123|Nguyễn Văn Bình|01/02/1999|Nữ|Nghệ An|05/08/2024|", KindCCCD2024},
		{"truncated: six fields with the old-ID field", "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Hà Nội", KindCCCDInvalid},
		{"slashed date that does not exist", "001099012345||Nguyễn Văn Bình|31/02/1990|Nam|Hà Nội|20/04/2021", KindCCCDInvalid},
		{"two-digit year", "001099012345||Nguyễn Văn Bình|15/03/90|Nam|Hà Nội|20/04/2021", KindCCCDInvalid},
		{"issued before birth", "001099012345||Nguyễn Văn Bình|15/03/1990|Nam|Hà Nội|20/04/1980", KindCCCDInvalid},
		{"five fields", "001099012345|Nguyễn Văn Bình|15031990|Nam|Hà Nội", KindUnknown},
	}
	for _, tc := range cases {
		p, err := c.Classify([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.what, err)
			continue
		}
		if p.Kind != tc.kind {
			t.Errorf("%s: kind %s, want %s (%s)", tc.what, p.Kind, tc.kind, p.Problem)
			continue
		}
		if p.Kind != KindCCCD2021 && p.Kind != KindCCCD2024 {
			continue
		}
		if p.Card.Name != name || p.Card.Birth.IsZero() || p.Card.Issued.IsZero() {
			t.Errorf("%s: card fields %q %v %v", tc.what, p.Card.Name, p.Card.Birth, p.Card.Issued)
		}
		if !norm.NFC.IsNormalString(p.Text) {
			t.Errorf("%s: text not composed", tc.what)
		}
	}
}

func TestProvincePattern(t *testing.T) {
	c, err := NewClassifier(`^HS:(?P<service>[0-9]+):(?P<code>[0-9]{10})$`)
	if err != nil {
		t.Fatal(err)
	}
	p := c.ClassifyText("HS:7:2024000123")
	if p.Kind != KindDossier || p.Receipt.Code != "2024000123" || p.Receipt.Service != "7" {
		t.Fatalf("got %+v", p)
	}
	if p := c.ClassifyText("HCM.Q1-230701-0001"); p.Kind == KindDossier {
		t.Fatal("the default pattern's form matched a province pattern that does not allow it")
	}
	// The official shape is the law's: read whatever the province prints besides.
	if p := c.ClassifyText("000.00.31.H40-231201-0001"); p.Kind != KindDossier || p.Receipt.Unit != "000.00.31.H40" {
		t.Fatalf("official code under a province pattern: %+v", p)
	}
	if _, err := NewClassifier(`^(?P<x>.*)$`); err == nil {
		t.Fatal("pattern without a code group accepted")
	}
	if _, err := NewClassifier(`(`); err == nil {
		t.Fatal("bad regexp accepted")
	}
}

func TestBadBytes(t *testing.T) {
	win1258 := []byte("Nguy\xd2n V\xe3n") // Vietnamese letters as single legacy bytes
	// "Nguyễn" encoded as UTF-8, read as Windows-1252, encoded again.
	var twice []byte
	for _, b := range []byte("Nguyễn Văn") {
		twice = utf8.AppendRune(twice, rune(b))
	}
	cases := []struct {
		in   []byte
		want error
	}{
		{nil, qrtext.ErrEmpty},
		{[]byte("\r\n"), qrtext.ErrEmpty},
		{[]byte(strings.Repeat("A", qrtext.MaxPayload+1)), qrtext.ErrTooLong},
		{make([]byte, 1<<20), qrtext.ErrTooLong},
		{win1258, qrtext.ErrWrongCodePage},
		{twice, qrtext.ErrDoubleEncoded},
		{[]byte("0010\x0099012345"), qrtext.ErrControlBytes},
		{[]byte("abc\x1bdef"), qrtext.ErrControlBytes},
	}
	for _, tc := range cases {
		_, err := qrtext.Text(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in[:min(len(tc.in), 20)], err, tc.want)
		}
	}
	if _, err := qrtext.Text([]byte("café Đà Lạt")); err != nil {
		t.Errorf("plain Vietnamese refused: %v", err)
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{card2021, card2024, "H40.22-230701-0001|13", "Nguy\xd2n", "a|b|c|d|e|f|g", "",
		"\ufeff001099012345|Nguye\u0302\u0303n|15/03/1990|Nam|x|20/04/2021||", card2021 + "|"} {
		f.Add([]byte(s))
	}
	c, _ := NewClassifier("")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := c.Classify(b)
		if err != nil {
			if p.Kind != "" {
				t.Fatal("kind set on error")
			}
			return
		}
		if !utf8.ValidString(p.Text) || len(p.Text) > qrtext.MaxPayload {
			t.Fatalf("accepted bad text %q", p.Text)
		}
		if (p.Kind == KindCCCD2021 || p.Kind == KindCCCD2024) && (p.Card == nil || len(p.Card.ID) != 12) {
			t.Fatalf("card kind without a card: %+v", p)
		}
		if p.Kind == KindDossier && (p.Receipt == nil || p.Receipt.Code == "") {
			t.Fatalf("dossier kind without a code")
		}
		if !norm.NFC.IsNormalString(p.Text) {
			t.Fatalf("text not composed")
		}
		// A card read in a variant form (BOM, NFD, a trailing separator) is the same
		// card of the same kind.
		if (p.Kind == KindCCCD2021 || p.Kind == KindCCCD2024) && len(p.Text)*3+8 < qrtext.MaxPayload {
			v, err := c.Classify([]byte("\ufeff" + norm.NFD.String(p.Text) + "|"))
			if err != nil || v.Kind != p.Kind || v.Card.ID != p.Card.ID || v.Card.Name != p.Card.Name ||
				v.Card.Birth != p.Card.Birth || v.Card.Issued != p.Card.Issued {
				t.Fatalf("variant of a %s: %v %+v", p.Kind, err, v.Kind)
			}
		}
	})
}
