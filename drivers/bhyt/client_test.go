package bhyt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"motcua-agent/internal/testkit"
)

// startSim runs a simulator on a free loopback port for the test.
func startSim(t *testing.T, clock *testkit.Clock) *Simulator {
	t.Helper()
	s := NewSimulator()
	if clock != nil {
		s.Now = clock.Now
	}
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// nurse is the simulator's first operator account.
func nurse() Account {
	a := SimAccounts()[0]
	return NewAccount("dd-lan", a.Username, a.Password, a.OperatorName, a.OperatorID)
}

func client(s *Simulator, clock *testkit.Clock) *Client {
	c := &Client{BaseURL: s.URL(), Account: nurse(), Timeout: 5 * time.Second}
	if clock != nil {
		c.Now = clock.Now
	}
	return c
}

func queryOf(c SimCard) Query { return Query{Number: c.ID, Name: c.Name, Birth: c.Birth} }

// TestEveryResultCode looks up every fictional card and every wrong query over real
// HTTP, JSON and form-encoded, and checks the client reads each result code the
// simulator gives.
func TestEveryResultCode(t *testing.T) {
	t.Parallel()
	s := startSim(t, nil)
	for _, form := range []bool{false, true} {
		c := client(s, nil)
		c.FormCheck = form
		ctx := context.Background()
		seen := map[string]bool{}
		check := func(what string, q Query, want string) Answer {
			t.Helper()
			a, err := c.Check(ctx, q)
			if err != nil {
				t.Fatalf("form=%v %s: %v", form, what, err)
			}
			if a.Code != want {
				t.Fatalf("form=%v %s: code %s, want %s", form, what, a.Code, want)
			}
			seen[a.Code] = true
			return a
		}
		for _, card := range s.Cards() {
			a := check(card.Name, queryOf(card), card.Code)
			if a.Card == nil || a.Card.Number != card.Number {
				t.Fatalf("%s: card %+v", card.Name, a.Card)
			}
			if card.NewNumber != "" && (a.Current().Number != card.NewNumber || !a.OK()) {
				t.Fatalf("%s: current card %+v, want the new %s", card.Name, a.Current(), card.NewNumber)
			}
		}
		an := s.Cards()[0]
		byCard := Query{Number: an.Number, Name: an.Name, Birth: strings.ReplaceAll(an.Birth, "/", "")}
		if a := check("by card number, compact birth", byCard, "000"); !a.OK() || DMY(a.Card.ValidTo) != an.ValidTo {
			t.Fatalf("by card number: %+v", a)
		}
		check("by year of birth", Query{Number: an.ID, Name: an.Name, Birth: an.Birth[6:]}, "000")
		check("unknown ID", Query{Number: "099090009999", Name: an.Name, Birth: an.Birth}, "050")
		check("unknown card number", Query{Number: "GD4799999999999", Name: an.Name, Birth: an.Birth}, "051")
		check("wrong province code", Query{Number: "GD4009999999999", Name: an.Name, Birth: an.Birth}, "052")
		check("wrong benefit code", Query{Number: "GD9799999999999", Name: an.Name, Birth: an.Birth}, "053")
		check("wrong name", Query{Number: an.ID, Name: "Trần Văn An", Birth: an.Birth}, "060")
		check("wrong name, first letter right", Query{Number: an.ID, Name: "Nguyễn Văn Ân", Birth: an.Birth}, "061")
		check("name in other case and spacing", Query{Number: an.ID, Name: "  nguyễn  VĂN an ", Birth: an.Birth}, "000")
		check("wrong birth date", Query{Number: an.ID, Name: an.Name, Birth: "16/03/1985"}, "070")
		decomposed := norm.NFD.String(an.Name)
		if decomposed == an.Name {
			t.Fatal("the test name has nothing to decompose")
		}
		check("name sent decomposed (NFD)", Query{Number: an.ID, Name: decomposed, Birth: an.Birth}, "000")
		stranger := c.Account
		stranger.OperatorID = "079199999999"
		oc := &Client{BaseURL: s.URL(), Account: stranger, FormCheck: form}
		if a, err := oc.Check(ctx, queryOf(an)); err != nil || a.Code != "054" || a.Reason != ReasonOperator {
			t.Fatalf("operator not registered: %+v %v", a, err)
		}
		misnamed := c.Account
		misnamed.OperatorName = "Nguyễn Thị Lam"
		oc = &Client{BaseURL: s.URL(), Account: misnamed, FormCheck: form}
		if a, err := oc.Check(ctx, queryOf(an)); err != nil || a.Code != "055" {
			t.Fatalf("operator name: %+v %v", a, err)
		}
		seen["054"], seen["055"] = true, true
		for code := range resultCodes {
			if !seen[code] && code != "205" && code != "401" && code != "500" { // 500: a fault, TestGatewayServerError
				t.Errorf("form=%v: result code %s never answered", form, code)
			}
		}
	}
	// 205 (the client never sends a bad format; a raw request does) and 401.
	resp, err := http.Post(s.URL()+PathToken, "application/x-www-form-urlencoded", strings.NewReader("username="+SimAccounts()[0].Username+"&password="+PasswordMD5("mat-khau-lan")))
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	tok, err := ParseToken(body.Bytes(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := nurse()
	url := fmt.Sprintf("%s%s?token=%s&id_token=%s&username=%s&password=%s", s.URL(), PathCheck, tok.Access, tok.ID, a.Username, a.passwordMD5)
	resp, err = http.Post(url, "application/json", strings.NewReader(`{"maThe":"099090000001","hoTen":"Nguyễn Văn An","ngaySinh":"15-03-1985","hoTenCb":"Nguyễn Thị Lan","cccdCb":"079190000002"}`))
	if err != nil {
		t.Fatal(err)
	}
	body.Reset()
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if ans, err := ParseAnswer(body.Bytes()); err != nil || ans.Code != "205" || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad birth format: HTTP %d %+v %v", resp.StatusCode, ans, err)
	}
	wrong := nurse()
	wrong.passwordMD5 = PasswordMD5("sai")
	if _, err := (&Client{BaseURL: s.URL(), Account: wrong}).Check(context.Background(), queryOf(s.Cards()[0])); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong password: %v, want ErrAuth", err)
	}
}

// TestTokenRenewedBeforeExpiry: a shift longer than a token's life takes a new token
// before the old one runs out, without a refused check.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	s := startSim(t, clock)
	c := client(s, clock)
	card := s.Cards()[0]
	start := clock.Now()
	// Look-ups at these minutes of the shift; tokens live 10 minutes and are replaced
	// within 30 s of their end: at 0, at 9.6 (the first ends at 10) and at 19.3 (the
	// second ends at 19.6).
	for _, m := range []float64{0, 4, 9.6, 14, 19.3} {
		clock.Add(start.Add(time.Duration(m * float64(time.Minute))).Sub(clock.Now()))
		if a, err := c.Check(context.Background(), queryOf(card)); err != nil || !a.OK() {
			t.Fatalf("look-up at minute %v: %+v %v", m, a, err)
		}
	}
	if c.Tokens() != 3 || s.Stats().Tokens != 3 || s.Stats().Refused != 0 {
		t.Fatalf("tokens %d (sim %d), refused %d", c.Tokens(), s.Stats().Tokens, s.Stats().Refused)
	}
}

// TestTokenExpiredByGateway: the gateway drops a token early; the client learns it from
// the 401, takes a new one and the look-up succeeds.
func TestTokenExpiredByGateway(t *testing.T) {
	t.Parallel()
	s := startSim(t, nil)
	c := client(s, nil)
	card := s.Cards()[0]
	if _, err := c.Check(context.Background(), queryOf(card)); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	a, err := c.Check(context.Background(), queryOf(card))
	if err != nil || !a.OK() {
		t.Fatalf("after the gateway expired the token: %+v %v", a, err)
	}
	if st := s.Stats(); st.Refused != 1 || st.Tokens != 2 || st.Checks != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFaults: each fault gives its classified error, and no error text carries the
// patient's data, the token or the password.
func TestFaults(t *testing.T) {
	t.Parallel()
	s := startSim(t, nil)
	c := client(s, nil)
	c.Timeout = 300 * time.Millisecond
	card := s.Cards()[0]
	q := queryOf(card)
	if _, err := c.Check(context.Background(), q); err != nil { // a token in hand
		t.Fatal(err)
	}
	secrets := []string{card.ID, card.Name, card.Number, nurse().passwordMD5, nurse().OperatorID, c.token.Access, c.token.ID}
	for _, f := range []struct {
		name   string
		faults SimFaults
		want   error
	}{
		{"slow", SimFaults{Delay: 2 * time.Second}, ErrUnavailable},
		{"down", SimFaults{Down: true}, ErrUnavailable},
		{"connection dropped", SimFaults{Drop: 1}, ErrUnavailable},
		{"503", SimFaults{ServerErrors: 1}, ErrUnavailable},
		{"malformed", SimFaults{Malformed: 1}, ErrMalformed},
		{"oversized", SimFaults{Oversized: 1}, ErrOversized},
	} {
		s.SetFaults(f.faults)
		_, err := c.Check(context.Background(), q)
		s.SetFaults(SimFaults{})
		if !errors.Is(err, f.want) {
			t.Errorf("%s: %v, want %v", f.name, err, f.want)
			continue
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q carries a secret or personal field", f.name, err)
			}
		}
	}
	// The gateway gone and back on the same address.
	addr := strings.TrimPrefix(s.URL(), "http://")
	s.Close()
	if _, err := c.Check(context.Background(), q); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("closed gateway: %v", err)
	} else if strings.Contains(err.Error(), nurse().passwordMD5) || strings.Contains(err.Error(), "token=") {
		t.Fatalf("transport error carries the URL's query: %v", err)
	}
	if _, err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	if a, err := c.Check(context.Background(), q); err != nil || !a.OK() {
		t.Fatalf("gateway back: %+v %v", a, err)
	}
}

func TestAccountsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.yaml")
	if err := WriteSimAccounts(path); err != nil {
		t.Fatal(err)
	}
	as, err := LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	lan, ok := as.Operator("dd-lan")
	thu, _ := as.Operator("dd-thu")
	if !ok || as.Facility == nil || len(as.Operators) != 3 || lan.passwordMD5 != PasswordMD5("mat-khau-lan") || lan.ViaFacility ||
		!thu.ViaFacility || thu.Username != as.Facility.Username || thu.passwordMD5 != as.Facility.passwordMD5 || thu.OperatorID != SimOperators()[3].ID {
		t.Fatalf("accounts %v", as.Keys())
	}
	// Printing or logging an account shows its key only.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "account", lan)
	shown := fmt.Sprintf("%v %+v %#v %s", lan, lan, lan, lan) + logged.String()
	for _, secret := range []string{lan.Username, lan.passwordMD5, lan.OperatorID, lan.OperatorName} {
		if strings.Contains(shown, secret) {
			t.Fatalf("an account printed as %q", shown)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAccounts(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable accounts file: %v", err)
	}
	if _, err := ParseAccounts([]byte(ExampleAccounts)); err != nil {
		t.Fatalf("the example: %v", err)
	}
	bad := "operators:\n  - {key: a, username: u, password: secret-pw, password_md5: ABC, name: '', id: '12'}\n  - {key: a, username: v, password: p, name: n, id: '079190000002'}\n"
	_, err = ParseAccounts([]byte(bad))
	if err == nil {
		t.Fatal("bad accounts accepted")
	}
	for _, want := range []string{"operators[0]: set password or password_md5", "operators[0].name", "operators[0].id", "operators[1].key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Fatalf("error repeats a password: %v", err)
	}
	if _, err := ParseAccounts([]byte("operators: [{key: a, pasword: x}]")); err == nil || strings.Contains(err.Error(), "pasword: x") {
		t.Fatalf("misspelt key: %v", err)
	}
}

// FuzzParseAccounts: any file gives accounts that each have a key, user name, password
// and operator, or an error that never repeats a password from the file.
func FuzzParseAccounts(f *testing.F) {
	f.Add([]byte(ExampleAccounts))
	f.Add([]byte("operators: [{key: a, username: u, password: bi-mat-123, name: n, id: '079190000002'}]"))
	f.Add([]byte("facility: {key: a, password: bi-mat-123}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := ParseAccounts(b)
		if err != nil {
			if strings.Contains(err.Error(), "bi-mat-123") {
				t.Fatalf("error repeats a password: %v", err)
			}
			return
		}
		all := as.Operators
		if as.Facility != nil {
			all = append(all, *as.Facility)
		}
		for _, a := range all {
			if a.Key == "" || a.Username == "" || len(a.passwordMD5) != 32 || a.OperatorName == "" || len(a.OperatorID) != 12 {
				t.Fatalf("incomplete account accepted: %q", a.Key)
			}
		}
	})
}
