package bhyt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		body    string
		code    string
		reason  Reason
		ok      bool
		current string // card number to use
		to      string // its validity end, dd/mm/yyyy
	}{
		{"valid, slash dates", `{"maKetQua":"000","ghiChu":"x","maThe":"GD4799000000001","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026"}`,
			"000", ReasonValid, true, "GD4799000000001", "31/12/2026"},
		{"valid, compact dates (official sample)", `{"maKetQua":"000","maThe":"GD4799000000001","gtTheTu":"01012026","gtTheDen":"31122026"}`,
			"000", ReasonValid, true, "GD4799000000001", "31/12/2026"},
		{"code as a number", `{"maKetQua":0,"maThe":"GD4799000000001","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026"}`,
			"000", ReasonValid, true, "GD4799000000001", "31/12/2026"},
		{"new card issued", `{"maKetQua":"003","maThe":"DN4799000000005","gtTheTu":"01/01/2025","gtTheDen":"31/12/2025",
			"maTheMoi":"DN4799000000105","gtTheTuMoi":"01/01/2026","gtTheDenMoi":"31/12/2026","tenDKBDMoi":"Trạm Y tế"}`,
			"003", ReasonNewCard, true, "DN4799000000105", "31/12/2026"},
		{"expired keeps its card", `{"maKetQua":"010","maThe":"GD4799000000007","gtTheTu":"01/01/2024","gtTheDen":"31/12/2024"}`,
			"010", ReasonExpired, false, "GD4799000000007", "31/12/2024"},
		{"no card", `{"maKetQua":"050","ghiChu":"Không có thông tin thẻ"}`, "050", ReasonNoCard, false, "", ""},
		{"unknown code", `{"maKetQua":"999"}`, "999", ReasonUnknownCode, false, "", ""},
		{"history null and unknown fields", `{"maKetQua":"070","dsLichSuKCB2018":null,"dsLichSuKT2018":[],"moi":1}`,
			"070", ReasonWrongBirth, false, "", ""},
		{"BOM and space", "\ufeff  {\"maKetQua\":\"401\"}\n", "401", ReasonAuth, false, "", ""},
	}
	for _, c := range cases {
		a, err := ParseAnswer([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Code != c.code || a.Reason != c.reason || a.OK() != c.ok {
			t.Errorf("%s: got %s %s ok=%v", c.name, a.Code, a.Reason, a.OK())
		}
		cur := a.Current()
		switch {
		case c.current == "" && cur != nil:
			t.Errorf("%s: unexpected card", c.name)
		case c.current != "" && (cur == nil || cur.Number != c.current || DMY(cur.ValidTo) != c.to):
			t.Errorf("%s: card %+v, want %s to %s", c.name, cur, c.current, c.to)
		}
	}
}

func TestParseAnswerRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body string
		want error
	}{
		"proxy page":                {`<html><body>502 Bad Gateway</body></html>`, ErrMalformed},
		"cut JSON":                  {`{"maKetQua":"000","maThe":"GD47`, ErrMalformed},
		"no result code":            {`{"maThe":"GD4799000000001"}`, ErrMalformed},
		"code not digits":           {`{"maKetQua":"OK"}`, ErrMalformed},
		"code too long":             {`{"maKetQua":"0000"}`, ErrMalformed},
		"code of wrong type":        {`{"maKetQua":{"a":1}}`, ErrMalformed},
		"valid without card":        {`{"maKetQua":"000"}`, ErrMalformed},
		"valid without dates":       {`{"maKetQua":"000","maThe":"GD4799000000001"}`, ErrMalformed},
		"valid, impossible date":    {`{"maKetQua":"000","maThe":"GD4799000000001","gtTheTu":"31/02/2026","gtTheDen":"31/12/2026"}`, ErrMalformed},
		"valid, ends before starts": {`{"maKetQua":"000","maThe":"GD4799000000001","gtTheTu":"01/01/2026","gtTheDen":"31/12/2025"}`, ErrMalformed},
		"two objects":               {`{"maKetQua":"050"}{"maKetQua":"000"}`, ErrMalformed},
		"array":                     {`[{"maKetQua":"000"}]`, ErrMalformed},
		"empty":                     {``, ErrMalformed},
		"oversized":                 {`{"maKetQua":"050","ghiChu":"` + strings.Repeat("a", MaxAnswer) + `"}`, ErrOversized},
	}
	for name, c := range cases {
		_, err := ParseAnswer([]byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "GD4799") {
			t.Errorf("%s: error repeats the card number: %v", name, err)
		}
	}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	ok := func(exp string) string {
		return `{"maKetQua":"200","APIKey":{"access_token":"a","id_token":"i","token_type":"Bearer","username":"u","expires_in":` + exp + `}}`
	}
	for body, want := range map[string]time.Time{
		ok(`"2026-12-02T01:10:00Z"`):       now.Add(10 * time.Minute),
		ok(`"2026-12-02T01:10:00.123"`):    now.Add(10*time.Minute + 123*time.Millisecond),
		ok(`"2026-12-02T08:10:00+07:00"`):  now.Add(10 * time.Minute),
		ok(`600`):                          now.Add(10 * time.Minute),
		ok(`"600"`):                        now.Add(10 * time.Minute),
		ok(`"02/12/2026 01:10:00"`):        now.Add(10 * time.Minute),
		"  " + ok(`"2026-12-02 01:10:00"`): now.Add(10 * time.Minute),
	} {
		tok, err := ParseToken([]byte(body), now)
		if err != nil || !tok.Expires.Equal(want) || tok.Access != "a" || tok.ID != "i" {
			t.Errorf("%s: %+v %v, want expiry %s", body, tok, err, want)
		}
	}
	for body, want := range map[string]error{
		`{"maKetQua":"401"}`:                      ErrAuth,
		`{"maKetQua":"500"}`:                      ErrUnavailable,
		`{"maKetQua":"200"}`:                      ErrMalformed,
		`{"maKetQua":"200","APIKey":{}}`:          ErrMalformed,
		ok(`"tomorrow"`):                          ErrMalformed,
		ok(`-5`):                                  ErrMalformed,
		`<html>`:                                  ErrMalformed,
		`{"APIKey":{"access_token":"a"}}`:         ErrMalformed,
		`{"maKetQua":"200","APIKey":"not a map"}`: ErrMalformed,
	} {
		if _, err := ParseToken([]byte(body), now); !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", body, err, want)
		}
	}
}

func TestWireBirth(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"15/03/1985": "15/03/1985", "15031985": "15/03/1985", "1985-03-15": "15/03/1985",
		" 1985 ": "1985", "03/1985": "03/1985", "3/1985": "03/1985"} {
		if got, err := WireBirth(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "31/02/1985", "1985/03/15", "85", "abcd", "15-03-1985", "1850", "13/1985", "00/1985", "03/85", "+3/1985"} {
		_, err := WireBirth(in)
		if !errors.Is(err, ErrBadQuery) {
			t.Errorf("%q: err %v, want ErrBadQuery", in, err)
		}
		if in != "" && err != nil && strings.Contains(err.Error(), in) {
			t.Errorf("%q: the error repeats the date: %v", in, err)
		}
	}
}

// FuzzParseAnswer: any bytes give an answer or a classified error, never a panic; a
// success always has a card with its validity period; errors never repeat the body.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"maKetQua":"000","maThe":"GD4799000000001","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026"}`,
		`{"maKetQua":"003","maThe":"DN4799000000005","gtTheTu":"01012025","gtTheDen":"31122025","maTheMoi":"DN4799000000105","gtTheTuMoi":"01/01/2026","gtTheDenMoi":"31/12/2026"}`,
		`{"maKetQua":50,"ghiChu":"Không có thông tin thẻ"}`, `{"maKetQua":"0`, `<html>`, `{"maKetQua":null}`, "\ufeff{}",
		`{"maKetQua":"000","maThe":"GD4799000000017","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026","maTheMoi":"GD4799000000017","gtTheTuMoi":"","gtTheDenMoi":null}`,
		`{"maKetQua":"003","maThe":"DN4799000000018","maTheMoi":"DN4799000000118","gtTheTuMoi":"01/01/2026","gtTheDenMoi":""}`,
		`{"maKetQua":"500","ghiChu":"Lỗi hệ thống"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseAnswer(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOversized) {
				t.Fatalf("unclassified error %v", err)
			}
			if len(body) >= 16 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error repeats the body: %v", err)
			}
			return
		}
		if len(a.Code) != 3 || a.Reason == "" {
			t.Fatalf("answer %+v without a code or reason", a)
		}
		if a.OK() {
			c := a.Current()
			if c == nil || c.Number == "" {
				t.Fatalf("success without a card number: %+v", c)
			}
			// A plain valid card has its period; a new card may lack its end date.
			if a.NewCard == nil && (c.ValidFrom.IsZero() || c.ValidTo.IsZero()) {
				t.Fatalf("valid card without its validity period: %+v", c)
			}
			if !c.ValidFrom.IsZero() && !c.ValidTo.IsZero() && c.ValidTo.Before(c.ValidFrom) {
				t.Fatalf("validity ends before it starts: %+v", c)
			}
		}
	})
}

// FuzzParseToken: any bytes give a token that expires, or a classified error.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"maKetQua":"200","APIKey":{"access_token":"a","id_token":"i","expires_in":"2026-12-02T01:10:00Z"}}`))
	f.Add([]byte(`{"maKetQua":"200","APIKey":{"access_token":"a","id_token":"i","expires_in":600}}`))
	f.Add([]byte(`{"maKetQua":"401"}`))
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := ParseToken(body, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOversized) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if tok.Access == "" || tok.ID == "" || tok.Expires.IsZero() {
			t.Fatalf("token %+v", tok)
		}
	})
}
