package bhyt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// SimCard is a fictional insured person the simulator knows. Code is what a correct
// look-up of them answers (000, 010, 003 …).
type SimCard struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Name      string `json:"name"`
	Birth     string `json:"birth"` // dd/mm/yyyy
	Sex       string `json:"sex"`
	Address   string `json:"address"`
	Facility  string `json:"facility"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
	Code      string `json:"code"`
	// NewNumber is the card issued in its place (codes 003, 004).
	NewNumber string `json:"new_number,omitempty"`
	// CompactDates answers this card's dates as ddmmyyyy (the official sample's form)
	// rather than dd/mm/yyyy, so clients are shown both.
	CompactDates bool `json:"compact_dates,omitempty"`
	// EchoNumber answers maTheMoi equal to maThe with the new dates empty, as the real
	// gateway does for many plain valid cards.
	EchoNumber bool `json:"echo_number,omitempty"`
	// NoNewEnd answers the new card (003, 004) with an empty gtTheDenMoi: no end date yet.
	NoNewEnd bool `json:"no_new_end,omitempty"`
}

// SimAccount is an account the simulated gateway accepts. A person's own account
// (user name: facility code and their ID number) looks up only as that person; the
// facility's account (Facility) looks up as any operator the facility registered,
// named in each check by hoTenCb/cccdCb.
type SimAccount struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	OperatorName string `json:"operator_name"`
	OperatorID   string `json:"operator_id"`
	Facility     bool   `json:"facility,omitempty"`
}

// SimAccounts are the simulator's fictional accounts: two nurses' own and the
// facility's.
func SimAccounts() []SimAccount {
	return []SimAccount{
		{Username: "79001_079190000002", Password: "mat-khau-lan", OperatorName: "Nguyễn Thị Lan", OperatorID: "079190000002"},
		{Username: "79001_079192000003", Password: "mat-khau-hoa", OperatorName: "Trần Thị Hòa", OperatorID: "079192000003"},
		{Username: "79001_BV", Password: "mat-khau-co-so", OperatorName: "Lê Văn Trưởng", OperatorID: "079080000001", Facility: true},
	}
}

// SimOperator is a person the facility registered to look up (name and ID number).
type SimOperator struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// SimOperators are the operators the fictional facility registered: the account
// holders, and a nurse with no account of her own who signs in with the facility's.
func SimOperators() []SimOperator {
	var out []SimOperator
	for _, a := range SimAccounts() {
		out = append(out, SimOperator{a.OperatorName, a.OperatorID})
	}
	return append(out, SimOperator{"Phạm Thị Thu", "079193000004"})
}

// SimCards are the fictional insured people: one for every result code a correct
// look-up can give. Their ID numbers start 0990 (no province has that code).
func SimCards() []SimCard {
	c := func(n int, number, name, birth, sex, code string) SimCard {
		return SimCard{ID: fmt.Sprintf("09909000%04d", n), Number: number, Name: name, Birth: birth, Sex: sex,
			Address: "Thôn Thử Nghiệm, xã Mô Phỏng, tỉnh Ví Dụ", Facility: "79001", ValidFrom: "01/01/2026",
			ValidTo: "31/12/2026", Code: code}
	}
	cards := []SimCard{
		c(1, "GD4799000000001", "Nguyễn Văn An", "15/03/1985", "Nam", "000"),
		c(2, "HT3799000000002", "Trần Thị Bình", "02/09/1950", "Nữ", "000"),
		c(3, "QN5799000000003", "Phạm Văn Cường", "20/11/1978", "Nam", "001"),
		c(4, "CA5799000000004", "Lê Thị Dung", "08/08/1982", "Nữ", "002"),
		c(5, "DN4799000000005", "Hoàng Văn Em", "01/01/1990", "Nam", "003"),
		c(6, "DN4799000000006", "Vũ Thị Giang", "12/12/1992", "Nữ", "004"),
		c(7, "GD4799000000007", "Đặng Văn Hùng", "30/04/1975", "Nam", "010"),
		c(8, "GD4799000000008", "Bùi Thị Khánh", "19/05/1988", "Nữ", "100"),
		c(9, "GD4799000000009", "Đỗ Văn Long", "07/07/1970", "Nam", "101"),
		c(10, "GD4799000000010", "Hồ Thị Mai", "25/12/1995", "Nữ", "110"),
		c(11, "GD4799000000011", "Ngô Văn Nam", "14/02/1980", "Nam", "120"),
		c(12, "GD4799000000012", "Dương Thị Oanh", "03/03/1983", "Nữ", "121"),
		c(13, "GD4799000000013", "Lý Văn Phúc", "09/09/1965", "Nam", "122"),
		c(14, "GD4799000000014", "Mai Thị Quỳnh", "11/11/1991", "Nữ", "123"),
		c(15, "GD4799000000015", "Trịnh Văn Sơn", "22/06/1960", "Nam", "124"),
		c(16, "TE1799000000016", "Châu Thị Tuyết", "05/05/2023", "Nữ", "130"),
		c(17, "GD4799000000017", "Tạ Văn Minh", "18/10/1968", "Nam", "000"),
		c(18, "DN4799000000018", "Lục Thị Nga", "27/07/1987", "Nữ", "003"),
		c(19, "HT2799000000019", "Kiều Thị Na", "06/1948", "Nữ", "000"), // the card carries month and year only
	}
	cards[16].EchoNumber = true
	cards[17].NewNumber, cards[17].NoNewEnd = "DN4799000000118", true
	cards[17].ValidTo = "31/12/2025"
	cards[1].CompactDates = true
	cards[4].NewNumber, cards[5].NewNumber = "DN4799000000105", "DN4799000000106"
	cards[4].ValidTo = "31/12/2025"
	cards[6].ValidFrom, cards[6].ValidTo = "01/01/2024", "31/12/2024"
	return cards
}

// SimFaults are the failures the simulator can put on: counts apply to the next
// requests and run down; Down and Delay stay until cleared.
type SimFaults struct {
	// Delay holds every answer this long (a slow gateway).
	Delay time.Duration `json:"delay"`
	// Down drops every connection without an answer (no network) until cleared.
	Down bool `json:"down"`
	// Drop, ServerErrors, Malformed and Oversized apply to the next N requests (checks,
	// for the last two): a dropped connection, HTTP 503, a cut JSON body, a body past
	// MaxAnswer. GatewayErrors answers the next N checks with the gateway's own server
	// error, maKetQua 500.
	Drop          int `json:"drop"`
	ServerErrors  int `json:"server_errors"`
	Malformed     int `json:"malformed"`
	Oversized     int `json:"oversized"`
	GatewayErrors int `json:"gateway_errors"`
}

// SimStats counts what the simulator answered.
type SimStats struct {
	Tokens  int            `json:"tokens"`
	Checks  int            `json:"checks"`
	Refused int            `json:"refused"` // checks refused for an expired or unknown token
	Dropped int            `json:"dropped"`
	ByCode  map[string]int `json:"by_code"`
}

// Simulator is the gateway on HTTP: the token and card check endpoints of wire.go, the
// fictional accounts and cards, and faults on demand (also over HTTP at /sim/faults,
// for the demo). It must never be pointed at by a production config.
type Simulator struct {
	// Now is the gateway's clock (tokens expire by it); time.Now when nil.
	Now func() time.Time
	// Lifetime of a token (default 10 minutes, as observed).
	Lifetime time.Duration

	mu        sync.Mutex
	accounts  []SimAccount
	operators []SimOperator
	cards     []SimCard
	tokens    map[string]simToken
	faults    SimFaults
	stats     SimStats
	srv       *http.Server
	ln        net.Listener
	addr      string
}

type simToken struct {
	idToken  string
	username string
	expires  time.Time
}

// NewSimulator makes a simulator with the fictional accounts and cards.
func NewSimulator() *Simulator {
	return &Simulator{accounts: SimAccounts(), operators: SimOperators(), cards: SimCards(), tokens: map[string]simToken{},
		stats: SimStats{ByCode: map[string]int{}}}
}

func (s *Simulator) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Start serves on addr ("127.0.0.1:0" for any free port) and returns the address.
// After Close it may be started again on the same address (the gateway coming back).
func (s *Simulator) Start(addr string) (string, error) {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return "", errors.New("bhyt simulator: already running (Close it first)")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("bhyt simulator: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv, s.ln, s.addr = srv, ln, ln.Addr().String()
	s.mu.Unlock()
	go srv.Serve(ln)
	return ln.Addr().String(), nil
}

// URL is the simulator's base URL (after Start).
func (s *Simulator) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// Close stops serving and ends open connections (the gateway going away).
func (s *Simulator) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// SetFaults replaces the faults in force.
func (s *Simulator) SetFaults(f SimFaults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// ExpireTokens makes every token issued so far expired, as the gateway does at its own
// time (the client learns it from an answer of maKetQua 401).
func (s *Simulator) ExpireTokens() {
	s.mu.Lock()
	s.tokens = map[string]simToken{}
	s.mu.Unlock()
}

// Stats is a copy of the counts.
func (s *Simulator) Stats() SimStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByCode = map[string]int{}
	for k, v := range s.stats.ByCode {
		st.ByCode[k] = v
	}
	return st
}

// AddCard adds a fictional insured person (a test citizen whose chip card a test reads).
func (s *Simulator) AddCard(c SimCard) {
	s.mu.Lock()
	s.cards = append(append([]SimCard(nil), s.cards...), c)
	s.mu.Unlock()
}

// Cards lists the fictional cards.
func (s *Simulator) Cards() []SimCard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SimCard(nil), s.cards...)
}

// ServeHTTP answers the gateway's endpoints and the simulator's own /sim/ routes.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sim/") {
		s.serveControl(w, r)
		return
	}
	s.mu.Lock()
	f := &s.faults
	delay, drop := f.Delay, f.Down
	if !drop && f.Drop > 0 {
		f.Drop--
		drop = true
	}
	fail := false
	if !drop && f.ServerErrors > 0 {
		f.ServerErrors--
		fail = true
	}
	if drop {
		s.stats.Dropped++
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fail {
		http.Error(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case PathToken:
		s.serveToken(w, r)
	case PathCheck:
		s.serveCheck(w, r)
	default:
		http.NotFound(w, r)
	}
}

// fields reads a form-encoded or JSON body into name → value, the names lower-cased:
// the gateway takes "Username" as "username" (public clients send both).
func fields(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[strings.ToLower(k)] = s
			}
		}
		return out, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k := range r.PostForm {
		out[strings.ToLower(k)] = r.PostForm.Get(k)
	}
	return out, nil
}

// queryFields is the request's query, the names lower-cased.
func queryFields(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out
}

// sameMD5 compares a password's MD5 as the gateway does: hex in either case.
func sameMD5(password, sent string) bool {
	return strings.EqualFold(PasswordMD5(password), strings.TrimSpace(sent))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	in, err := fields(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"maKetQua": "205"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		if strings.EqualFold(a.Username, in[fieldUsername]) && sameMD5(a.Password, in[fieldPassword]) {
			lifetime := s.Lifetime
			if lifetime <= 0 {
				lifetime = 10 * time.Minute
			}
			t := simToken{idToken: randomHex(24), username: a.Username, expires: s.now().Add(lifetime)}
			access := randomHex(16)
			s.tokens[access] = t
			s.stats.Tokens++
			writeJSON(w, http.StatusOK, map[string]any{"maKetQua": tokenOK, "APIKey": map[string]string{
				"access_token": access, "id_token": t.idToken, "token_type": "Bearer", "username": a.Username,
				"expires_in": t.expires.UTC().Format("2006-01-02T15:04:05Z")}})
			return
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"maKetQua": "401", "ghiChu": "Tài khoản chưa được xác thực"})
}

func (s *Simulator) serveCheck(w http.ResponseWriter, r *http.Request) {
	q := queryFields(r)
	s.mu.Lock()
	t, ok := s.tokens[q[fieldToken]]
	var acct *SimAccount
	for i := range s.accounts {
		if strings.EqualFold(s.accounts[i].Username, q[fieldUsername]) {
			acct = &s.accounts[i]
		}
	}
	if ok && !s.now().Before(t.expires) {
		delete(s.tokens, q[fieldToken]) // expired: gone for good
		ok = false
	}
	// A refused request never drops a valid token: the gateway refuses the request,
	// and the token keeps working until it expires.
	if !ok || t.idToken != q[fieldIDToken] || acct == nil || t.username != acct.Username || !sameMD5(acct.Password, q[fieldPassword]) {
		s.stats.Refused++
		s.mu.Unlock()
		// The gateway answers a refused token with HTTP 200 and maKetQua 401 in the body.
		writeJSON(w, http.StatusOK, map[string]string{"maKetQua": "401", "ghiChu": "Token không hợp lệ hoặc đã hết hạn"})
		return
	}
	if s.faults.GatewayErrors > 0 {
		s.faults.GatewayErrors--
		s.stats.ByCode["500"]++
		s.mu.Unlock()
		writeJSON(w, http.StatusInternalServerError, map[string]string{"maKetQua": "500", "ghiChu": "Lỗi hệ thống, vui lòng thử lại sau"})
		return
	}
	f := &s.faults
	malformed, oversized := f.Malformed > 0, f.Oversized > 0 && f.Malformed == 0
	if malformed {
		f.Malformed--
	} else if oversized {
		f.Oversized--
	}
	s.stats.Checks++
	s.mu.Unlock()
	switch {
	case malformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"maKetQua":"000","ghiChu":"Thẻ còn giá trị sử dụng","maThe":"GD47990`)
		return
	case oversized:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"maKetQua":"000","dsLichSuKT2018":[`)
		row := `{"userKT":"sim","thoiGianKT":"20260101080000","thongBao":"Thẻ còn giá trị sử dụng","maLoi":"000"},`
		for n := 0; n <= MaxAnswer/len(row)+1; n++ {
			io.WriteString(w, row)
		}
		io.WriteString(w, `{}]}`)
		return
	}
	in, err := fields(r)
	status, answer := http.StatusOK, map[string]any(nil)
	if err != nil {
		status, answer = http.StatusBadRequest, map[string]any{"maKetQua": "205", "ghiChu": "Sai định dạng tham số"}
	} else {
		status, answer = s.answer(in, acct)
	}
	s.mu.Lock()
	s.stats.ByCode[answer["maKetQua"].(string)]++
	s.mu.Unlock()
	writeJSON(w, status, answer)
}

// answer decides a well-formed check by the wire's rules.
func (s *Simulator) answer(in map[string]string, acct *SimAccount) (int, map[string]any) {
	res := func(code, note string) map[string]any { return map[string]any{"maKetQua": code, "ghiChu": note} }
	for _, k := range []string{fieldCard, fieldName, fieldBirth, fieldOperatorName, fieldOperatorID} {
		if strings.TrimSpace(in[strings.ToLower(k)]) == "" {
			return http.StatusBadRequest, res("205", "Thiếu tham số "+k)
		}
	}
	qBirth, ok := simBirth(in[strings.ToLower(fieldBirth)])
	if !ok {
		return http.StatusBadRequest, res("205", "Sai định dạng ngày sinh")
	}
	s.mu.Lock()
	registered := map[string]string{}
	for _, o := range s.operators {
		registered[o.ID] = o.Name
	}
	cards := s.cards
	s.mu.Unlock()
	opID := strings.TrimSpace(in[strings.ToLower(fieldOperatorID)])
	name, known := registered[opID]
	// A person's own account looks up only as that person; the facility's account as
	// any operator the facility registered.
	if !known || !acct.Facility && opID != acct.OperatorID {
		return http.StatusOK, res("054", "Số CCCD của cán bộ chưa được cơ sở đăng ký")
	}
	if foldName(name) != foldName(in[strings.ToLower(fieldOperatorName)]) {
		return http.StatusOK, res("055", "Họ tên cán bộ không khớp với số CCCD")
	}
	number := strings.ToUpper(strings.TrimSpace(in[strings.ToLower(fieldCard)]))
	var card *SimCard
	for i := range cards {
		if cards[i].ID == number || cards[i].Number == number {
			card = &cards[i]
		}
	}
	if card == nil {
		if len(number) == 15 {
			switch {
			case number[2] < '1' || number[2] > '5':
				return http.StatusOK, res("053", "Mã quyền lợi (ký tự thứ 3) không đúng")
			case number[3:5] == "00" || number[3:5] > "99":
				return http.StatusOK, res("052", "Mã tỉnh (ký tự 4-5) không đúng")
			}
			return http.StatusOK, res("051", "Mã thẻ không đúng")
		}
		return http.StatusOK, res("050", "Không có thông tin thẻ")
	}
	if a, b := foldName(card.Name), foldName(in[strings.ToLower(fieldName)]); a != b {
		ra, _ := utf8.DecodeRuneInString(a)
		rb, _ := utf8.DecodeRuneInString(b)
		if ra == rb {
			return http.StatusOK, res("061", "Họ tên không đúng (đúng chữ cái đầu)")
		}
		return http.StatusOK, res("060", "Họ tên không đúng")
	}
	// The birth date is compared to the precision the check gives: a year, a month
	// and year, or the full date.
	if !strings.HasSuffix(card.Birth, qBirth) || len(qBirth) == 10 && len(card.Birth) != 10 {
		return http.StatusOK, res("070", "Ngày sinh không đúng")
	}
	date := func(s string) string {
		if card.CompactDates {
			return strings.ReplaceAll(s, "/", "")
		}
		return s
	}
	// ghiChu as the gateway writes it: often a full sentence with the patient's data.
	a := res(card.Code, fmt.Sprintf("%s. Họ tên: %s, ngày sinh: %s, địa chỉ: %s, nơi đăng ký KCB ban đầu: %s.",
		simNotes[card.Code], card.Name, card.Birth, card.Address, card.Facility))
	a["maThe"], a["hoTen"], a["ngaySinh"], a["gioiTinh"], a["diaChi"] = card.Number, card.Name, date(card.Birth), card.Sex, card.Address
	a["maDKBD"], a["cqBHXH"], a["gtTheTu"], a["gtTheDen"] = card.Facility, "BHXH tỉnh Ví Dụ", date(card.ValidFrom), date(card.ValidTo)
	a["maKV"], a["ngayDu5Nam"], a["maSoBHXH"] = "", "", card.Number[5:]
	a["dsLichSuKCB2018"], a["dsLichSuKT2018"] = nil, []any{}
	// The "new card" fields are always there, null when there is no new card.
	a["maTheCu"], a["maTheMoi"], a["gtTheTuMoi"], a["gtTheDenMoi"], a["maDKBDMoi"], a["tenDKBDMoi"] = nil, nil, nil, nil, nil, nil
	switch {
	case card.NewNumber != "":
		a["maTheCu"], a["maTheMoi"] = card.Number, card.NewNumber
		a["gtTheTuMoi"], a["gtTheDenMoi"], a["maDKBDMoi"], a["tenDKBDMoi"] = "01/01/2026", "31/12/2026", card.Facility, "Trạm Y tế xã Mô Phỏng"
		if card.NoNewEnd {
			a["gtTheDenMoi"] = ""
		}
	case card.EchoNumber:
		a["maTheMoi"], a["gtTheTuMoi"], a["gtTheDenMoi"] = card.Number, "", ""
	}
	return http.StatusOK, a
}

var simNotes = map[string]string{
	"000": "Thẻ còn giá trị sử dụng", "001": "Thẻ do BHXH Bộ Quốc phòng quản lý", "002": "Thẻ do BHXH Bộ Công an quản lý",
	"003": "Thẻ cũ hết giá trị sử dụng, được cấp thẻ mới", "004": "Thẻ cũ còn giá trị sử dụng, được cấp thẻ mới",
	"010": "Thẻ hết giá trị sử dụng", "100": "Lỗi dữ liệu", "101": "Lỗi máy chủ", "110": "Thẻ đã thu hồi",
	"120": "Thẻ đã báo giảm (chuyển ngoại tỉnh)", "121": "Thẻ đã báo giảm (chuyển nội tỉnh)", "122": "Thẻ đã báo giảm (tăng lại)",
	"123": "Thẻ đã báo giảm", "124": "Thẻ đã báo giảm (dừng tham gia)", "130": "Trẻ em không xuất trình thẻ",
}

// simBirth reads a query's birth date as dd/mm/yyyy (or mm/yyyy, or yyyy).
func simBirth(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 4 {
		return s, allDigits(s)
	}
	if m, y, ok := monthYear(s); ok {
		return fmt.Sprintf("%02d/%04d", m, y), true
	}
	d, err := ParseDate(s)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year), true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// foldName compares names as the gateway is lenient: case and spacing ignored. It
// does not normalise: a decomposed name is a wrong name, as clients must send NFC.
func foldName(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}

// serveControl is the simulator's own control: GET /sim/cards, GET /sim/stats,
// POST /sim/faults (a SimFaults as JSON, delay as "5s"), POST /sim/expire-tokens.
func (s *Simulator) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /sim/cards":
		writeJSON(w, http.StatusOK, s.Cards())
	case "GET /sim/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	case "POST /sim/expire-tokens":
		s.ExpireTokens()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	case "POST /sim/faults":
		var in struct {
			SimFaults
			Delay string `json:"delay"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil {
			http.Error(w, "want JSON: {\"delay\":\"5s\",\"down\":false,\"drop\":0,\"server_errors\":0,\"malformed\":0,\"oversized\":0}", http.StatusBadRequest)
			return
		}
		f := in.SimFaults
		if in.Delay != "" {
			d, err := time.ParseDuration(in.Delay)
			if err != nil || d < 0 || d > 5*time.Minute {
				http.Error(w, "delay must be a duration up to 5m", http.StatusBadRequest)
				return
			}
			f.Delay = d
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	default:
		http.NotFound(w, r)
	}
}

// Serve runs the simulator on addr until ctx ends.
func (s *Simulator) Serve(ctx context.Context, addr string) error {
	if _, err := s.Start(addr); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// WriteSimAccounts writes an accounts file (mode 0600) holding the simulator's
// accounts: the nurses with their own accounts as operators dd-lan and dd-hoa, the
// facility as co-so, and dd-thu, a nurse who signs in with the facility's account.
func WriteSimAccounts(path string) error {
	as, ops := SimAccounts(), SimOperators()
	text := fmt.Sprintf(`# The BHYT gateway simulator's fictional accounts (motcua-agent sim bhyt).
facility: {key: co-so, username: %q, password: %q, name: %q, id: %q}
operators:
  - {key: dd-lan, username: %q, password: %q, name: %q, id: %q}
  - {key: dd-hoa, username: %q, password: %q, name: %q, id: %q}
  - {key: dd-thu, name: %q, id: %q}   # signs in with the facility account
`, as[2].Username, as[2].Password, as[2].OperatorName, as[2].OperatorID,
		as[0].Username, as[0].Password, as[0].OperatorName, as[0].OperatorID,
		as[1].Username, as[1].Password, as[1].OperatorName, as[1].OperatorID,
		ops[3].Name, ops[3].ID)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write accounts file: %w", err)
	}
	return os.Chmod(path, 0o600)
}
