package bhyt

// The gateway as it really answers (issue 29): answer shapes seen in public hospital
// software that calls it in production, and the simulator held to them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// documentedAnswerFields are the fields of a card check's answer as CV 1923/BHXH-CNTT
// appendix 03 lists them and as public HIS code declares them (CLINIC.md): a simulator
// answer for a found card carries every one of them, "new card" ones null when absent.
var documentedAnswerFields = []string{"maKetQua", "ghiChu", "maThe", "hoTen", "ngaySinh", "gioiTinh", "diaChi", "maDKBD",
	"cqBHXH", "gtTheTu", "gtTheDen", "maKV", "ngayDu5Nam", "maSoBHXH", "maTheCu", "maTheMoi", "gtTheTuMoi", "gtTheDenMoi",
	"maDKBDMoi", "tenDKBDMoi", "dsLichSuKCB2018", "dsLichSuKT2018"}

// TestRealAnswerShapes: answers a strict reader refused, read as the gateway means them.
func TestRealAnswerShapes(t *testing.T) {
	t.Parallel()
	note := `"ghiChu":"Thẻ còn giá trị sử dụng. Họ tên: Tạ Văn Minh, ngày sinh: 18/10/1968, địa chỉ: Thôn Thử Nghiệm"`
	cases := []struct {
		name      string
		body      string
		code      string
		reason    Reason
		ok, retry bool
		current   string
		to        string // the current card's end date, "" when it has none
		replaced  bool   // a new card replaced the old
	}{
		{"000 with maTheMoi equal to maThe, no new dates",
			`{"maKetQua":"000",` + note + `,"maThe":"GD4799000000017","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026","maTheCu":null,"maTheMoi":"GD4799000000017","gtTheTuMoi":"","gtTheDenMoi":"","maDKBDMoi":null,"tenDKBDMoi":null}`,
			"000", ReasonValid, true, false, "GD4799000000017", "31/12/2026", false},
		{"000 with maTheMoi in another case",
			`{"maKetQua":"000","maThe":"GD4799000000017","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026","maTheMoi":"gd4799000000017"}`,
			"000", ReasonValid, true, false, "GD4799000000017", "31/12/2026", false},
		{"000 with every new-card field null",
			`{"maKetQua":"000","maThe":"GD4799000000001","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026","maTheCu":null,"maTheMoi":null,"gtTheTuMoi":null,"gtTheDenMoi":null,"dsLichSuKCB2018":null,"dsLichSuKT2018":null}`,
			"000", ReasonValid, true, false, "GD4799000000001", "31/12/2026", false},
		{"003 with an empty gtTheDenMoi",
			`{"maKetQua":"003","maThe":"DN4799000000018","gtTheTu":"01/01/2025","gtTheDen":"31/12/2025","maTheCu":"DN4799000000018","maTheMoi":"DN4799000000118","gtTheTuMoi":"01/01/2026","gtTheDenMoi":"","maDKBDMoi":"79001","tenDKBDMoi":"Trạm Y tế"}`,
			"003", ReasonNewCard, true, false, "DN4799000000118", "", true},
		{"004 with no new dates at all",
			`{"maKetQua":"004","maThe":"DN4799000000006","gtTheTu":"01/01/2026","gtTheDen":"31/12/2026","maTheMoi":"DN4799000000106","gtTheTuMoi":null,"gtTheDenMoi":null}`,
			"004", ReasonNewCard, true, false, "DN4799000000106", "", true},
		{"500: the gateway's server error, asked again", `{"maKetQua":"500","ghiChu":"Lỗi hệ thống"}`, "500", ReasonGatewayError, false, true, "", "", false},
		{"101: server error, asked again", `{"maKetQua":"101"}`, "101", ReasonGatewayError, false, true, "", "", false},
		{"100: data error, final", `{"maKetQua":"100"}`, "100", ReasonGatewayError, false, false, "", "", false},
		{"120 reduced", `{"maKetQua":"120"}`, "120", ReasonReduced, false, false, "", "", false},
		{"121 moved province", `{"maKetQua":"121"}`, "121", ReasonReduced, false, false, "", "", false},
		{"124 stopped", `{"maKetQua":"124"}`, "124", ReasonReduced, false, false, "", "", false},
		{"401 in the body of an HTTP 200", `{"maKetQua":"401","ghiChu":"Token không hợp lệ"}`, "401", ReasonAuth, false, false, "", "", false},
	}
	for _, c := range cases {
		a, err := ParseAnswer([]byte(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Code != c.code || a.Reason != c.reason || a.OK() != c.ok || a.Retryable() != c.retry {
			t.Errorf("%s: code %s reason %s ok=%v retry=%v", c.name, a.Code, a.Reason, a.OK(), a.Retryable())
		}
		cur := a.Current()
		if c.current == "" {
			if cur != nil {
				t.Errorf("%s: a card where none was given", c.name)
			}
		} else if cur == nil || cur.Number != c.current || DMY(cur.ValidTo) != c.to || (a.NewCard != nil) != c.replaced {
			t.Errorf("%s: current card %+v (replaced %v), want %s to %q", c.name, cur, a.NewCard != nil, c.current, c.to)
		}
		// ghiChu is personal data: it is not kept in the answer in any form.
		shown, _ := json.Marshal(a)
		if strings.Contains(string(shown)+fmt.Sprintf("%+v %+v %+v", a, a.Card, a.NewCard), "Họ tên:") {
			t.Errorf("%s: the answer keeps ghiChu", c.name)
		}
	}
	// Still refused: a new card's date that does not read, or a new card that ends
	// before it starts.
	for _, body := range []string{
		`{"maKetQua":"003","maThe":"A","gtTheTu":"01/01/2025","gtTheDen":"31/12/2025","maTheMoi":"B","gtTheTuMoi":"31/02/2026"}`,
		`{"maKetQua":"003","maThe":"A","maTheMoi":"B","gtTheTuMoi":"01/01/2026","gtTheDenMoi":"31/12/2025"}`,
		`{"maKetQua":"003","maThe":"A","maTheMoi":"A"}`, // "new" card the same as the old: a 003 with no card to use
	} {
		if _, err := ParseAnswer([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", body, err)
		}
	}
}

// rawPost posts a body to the simulator and decodes its JSON answer.
func rawPost(t *testing.T, u, ctype, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("HTTP %d, not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// TestSimulatorAnswersAsTheGateway holds the simulator to what public clients of the
// real gateway send and expect: lower-case MD5 and capitalised keys accepted, an expired
// token answered HTTP 200 with maKetQua 401, a valid token kept after a refused
// request, the documented answer fields, both account modes, mm/yyyy birth dates.
func TestSimulatorAnswersAsTheGateway(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	s := startSim(t, clock)
	lan, facility := SimAccounts()[0], SimAccounts()[2]
	lower := strings.ToLower(PasswordMD5(lan.Password))
	token := func(body, ctype string) Token {
		t.Helper()
		status, m := rawPost(t, s.URL()+PathToken, ctype, body)
		b, _ := json.Marshal(m)
		tok, err := ParseToken(b, clock.Now())
		if status != http.StatusOK || err != nil {
			t.Fatalf("token for %s: HTTP %d %v", body, status, err)
		}
		return tok
	}
	// JSON with "Username"/"Password" keys and a lower-case MD5; form-encoded too.
	tok := token(fmt.Sprintf(`{"Username":%q,"Password":%q}`, lan.Username, lower), "application/json")
	token(url.Values{"USERNAME": {lan.Username}, "password": {lower}}.Encode(), "application/x-www-form-urlencoded")
	checkURL := func(tk Token, acct SimAccount, md5 string) string {
		return s.URL() + PathCheck + "?" + url.Values{"token": {tk.Access}, "id_token": {tk.ID}, "username": {acct.Username}, "password": {md5}}.Encode()
	}
	body := func(card SimCard, birth, opName, opID string) string {
		b, _ := json.Marshal(map[string]string{"maThe": card.ID, "hoTen": card.Name, "ngaySinh": birth, "hoTenCb": opName, "cccdCb": opID})
		return string(b)
	}
	minh := s.Cards()[16]
	status, m := rawPost(t, checkURL(tok, lan, lower), "application/json", body(minh, minh.Birth, lan.OperatorName, lan.OperatorID))
	if status != http.StatusOK || m["maKetQua"] != "000" {
		t.Fatalf("check with a lower-case MD5: HTTP %d %v", status, m["maKetQua"])
	}
	for _, f := range documentedAnswerFields {
		if _, ok := m[f]; !ok {
			t.Errorf("answer lacks the documented field %s", f)
		}
	}
	for f := range m {
		if !slices.Contains(documentedAnswerFields, f) {
			t.Errorf("answer has the undocumented field %s", f)
		}
	}
	if m["maTheMoi"] != m["maThe"] || m["gtTheDenMoi"] != "" || m["maTheCu"] != nil {
		t.Errorf("the echoed-number card: maTheMoi %v gtTheDenMoi %q maTheCu %v", m["maTheMoi"], m["gtTheDenMoi"], m["maTheCu"])
	}
	if note, _ := m["ghiChu"].(string); !strings.Contains(note, minh.Name) {
		t.Errorf("ghiChu %q is not the full sentence the gateway writes", note)
	}
	// A refused request (a wrong id_token) is answered 401 in the body, and does not
	// drop the valid token.
	bad := tok
	bad.ID = "sai"
	status, m = rawPost(t, checkURL(bad, lan, lower), "application/json", body(minh, minh.Birth, lan.OperatorName, lan.OperatorID))
	if status != http.StatusOK || m["maKetQua"] != "401" {
		t.Fatalf("refused token: HTTP %d %v, want 200 with maKetQua 401", status, m["maKetQua"])
	}
	if _, m = rawPost(t, checkURL(tok, lan, lower), "application/json", body(minh, "10/1968", lan.OperatorName, lan.OperatorID)); m["maKetQua"] != "000" {
		t.Fatalf("the valid token after a refused request, birth as mm/yyyy: %v", m["maKetQua"])
	}
	// Expired: HTTP 200, maKetQua 401.
	clock.Add(11 * time.Minute)
	status, m = rawPost(t, checkURL(tok, lan, lower), "application/json", body(minh, minh.Birth, lan.OperatorName, lan.OperatorID))
	if status != http.StatusOK || m["maKetQua"] != "401" {
		t.Fatalf("expired token: HTTP %d %v, want 200 with maKetQua 401", status, m["maKetQua"])
	}
	// The facility's account, the signed-in nurse named: any operator the facility
	// registered; someone it did not is 054.
	ftok := token(url.Values{"username": {facility.Username}, "password": {PasswordMD5(facility.Password)}}.Encode(), "application/x-www-form-urlencoded")
	thu := SimOperators()[3]
	for _, c := range []struct {
		name, id, want string
	}{{thu.Name, thu.ID, "000"}, {lan.OperatorName, lan.OperatorID, "000"}, {"Người Lạ", "079199999999", "054"}, {"Phạm Thị Thúy", thu.ID, "055"}} {
		if _, m = rawPost(t, checkURL(ftok, facility, PasswordMD5(facility.Password)), "application/json", body(minh, minh.Birth, c.name, c.id)); m["maKetQua"] != c.want {
			t.Errorf("facility account as operator %s: %v, want %s", c.id, m["maKetQua"], c.want)
		}
	}
	// A person's own account looks up as that person only.
	tok = token(url.Values{"username": {lan.Username}, "password": {lower}}.Encode(), "application/x-www-form-urlencoded")
	if _, m = rawPost(t, checkURL(tok, lan, lower), "application/json", body(minh, minh.Birth, thu.Name, thu.ID)); m["maKetQua"] != "054" {
		t.Errorf("a nurse's own account naming another operator: %v, want 054", m["maKetQua"])
	}
	// The gateway's server error: maKetQua 500 with a JSON body.
	s.SetFaults(SimFaults{GatewayErrors: 1})
	status, m = rawPost(t, checkURL(tok, lan, lower), "application/json", body(minh, minh.Birth, lan.OperatorName, lan.OperatorID))
	if status != http.StatusInternalServerError || m["maKetQua"] != "500" {
		t.Fatalf("gateway error: HTTP %d %v", status, m["maKetQua"])
	}
}

// TestClientReadsEveryShape: the client, over HTTP, reads each real shape from the
// simulator as a success; a 500 is a retryable answer; an expired token answered in
// the body is replaced and the check asked once more.
func TestClientReadsEveryShape(t *testing.T) {
	t.Parallel()
	s := startSim(t, nil)
	c := client(s, nil)
	ctx := context.Background()
	cards := s.Cards()
	minh, nga, na := cards[16], cards[17], cards[18]
	for _, q := range []struct {
		what  string
		q     Query
		card  string
		to    string
		renew bool
	}{
		{"000, maTheMoi = maThe", queryOf(minh), minh.Number, minh.ValidTo, false},
		{"003, no end date on the new card", queryOf(nga), nga.NewNumber, "", true},
		{"born mm/yyyy", queryOf(na), na.Number, na.ValidTo, false},
		{"born mm/yyyy, asked by year", Query{Number: na.ID, Name: na.Name, Birth: "1948"}, na.Number, na.ValidTo, false},
	} {
		a, err := c.Check(ctx, q.q)
		if err != nil || !a.OK() {
			t.Fatalf("%s: %+v %v", q.what, a, err)
		}
		if cur := a.Current(); cur.Number != q.card || DMY(cur.ValidTo) != q.to || (a.NewCard != nil) != q.renew {
			t.Fatalf("%s: card %+v", q.what, cur)
		}
	}
	if a, err := c.Check(ctx, Query{Number: na.ID, Name: na.Name, Birth: "01/06/1948"}); err != nil || a.Code != "070" {
		t.Fatalf("a full date for a card with month and year only: %+v %v", a, err)
	}
	s.SetFaults(SimFaults{GatewayErrors: 1})
	if a, err := c.Check(ctx, queryOf(minh)); err != nil || a.Code != "500" || !a.Retryable() || a.Reason != ReasonGatewayError {
		t.Fatalf("gateway error: %+v %v", a, err)
	}
	before := s.Stats()
	s.ExpireTokens()
	if a, err := c.Check(ctx, queryOf(minh)); err != nil || !a.OK() {
		t.Fatalf("after the token expired: %+v %v", a, err)
	}
	if after := s.Stats(); after.Refused != before.Refused+1 || after.Tokens != before.Tokens+1 {
		t.Fatalf("stats %+v after %+v", after, before)
	}
}

// TestAccountModes: an operator with their own account and one who signs in with the
// facility's both look up; an operator without credentials needs a facility account.
func TestAccountModes(t *testing.T) {
	t.Parallel()
	s := startSim(t, nil)
	var text bytes.Buffer
	path := t.TempDir() + "/accounts.yaml"
	if err := WriteSimAccounts(path); err != nil {
		t.Fatal(err)
	}
	as, err := LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"dd-lan", "dd-thu"} {
		a, _ := as.Operator(key)
		c := &Client{BaseURL: s.URL(), Account: a}
		if ans, err := c.Check(context.Background(), queryOf(s.Cards()[0])); err != nil || !ans.OK() {
			t.Fatalf("%s (via facility %v): %+v %v", key, a.ViaFacility, ans, err)
		}
	}
	text.WriteString("operators:\n  - {key: dd-thu, name: Phạm Thị Thu, id: '079193000004'}\n")
	if _, err := ParseAccounts(text.Bytes()); err == nil || !strings.Contains(err.Error(), "operators[0]: give username and password, or a facility account") {
		t.Fatalf("an operator with no credentials and no facility account: %v", err)
	}
	if _, err := ParseAccounts([]byte("facility: {key: f, username: u, password: p, name: n, id: '079080000001'}\noperators:\n  - {key: x, name: '', id: '1'}\n")); err == nil ||
		!strings.Contains(err.Error(), "operators[0].name") || !strings.Contains(err.Error(), "operators[0].id") {
		t.Fatalf("a facility operator without name and ID: %v", err)
	}
}
