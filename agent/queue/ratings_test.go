package queue

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
)

var testStaffKey = StaffKey("0123456789abcdef-staff-key")

// withStaffAndRatings turns ratings on and lists two officers: Lan (PIN 2468, and her
// card 001099012345) and Minh (PIN 1357).
func withStaffAndRatings(q *Queue) {
	q.cfg.Rating = config.Rating{Enabled: true}
	q.cfg.Rating.Levels = 5
	q.cfg.Rating.WindowMinutes, q.cfg.Rating.PromptSeconds = 10, 30
	q.cfg.Rating.Reasons = append([]string(nil), config.DefaultRatingReasons...)
	q.staff = &config.Staff{Officers: []config.Officer{
		{ID: "lan", Name: "Nguyễn Thị Lan", PINHash: testStaffKey.PINHash("lan", "2468"), IDHash: testStaffKey.IDHash("001099012345")},
		{ID: "minh", Name: "Trần Văn Minh", PINHash: testStaffKey.PINHash("minh", "1357")},
	}}
	q.staffKey = testStaffKey
	q.sign = store.NewIDHasher([]byte("site-secret-for-tests")).Hash
}

// staffOf lists the officer on each event of a kind, in order.
func staffOf(t *testing.T, st *store.Store, kind string) []string {
	t.Helper()
	evs, err := st.Events(context.Background(), store.EventFilter{Kinds: []string{kind}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		staff, _, _, err := officerFacts(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, staff)
	}
	return out
}

// Officers sign in by PIN and by card; calls, finishes, no-shows and transfers carry
// who did them; another sign-in at the counter replaces the officer, a sign-out ends
// it, and a citizen's card signs nobody in or out.
func TestOfficersAtCounters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, clk, st := newTestQueue(t)
	withStaffAndRatings(q)
	for range 4 {
		must(t)(q.Issue(ctx, "A", false))
	}
	if _, err := q.SignInPIN(ctx, "1", "lan", "1111"); status(err) != 401 {
		t.Fatalf("wrong PIN: %v", err)
	}
	if o, err := q.SignInPIN(ctx, "1", "lan", "2468"); err != nil || o.Name != "Nguyễn Thị Lan" {
		t.Fatalf("PIN sign-in: %+v %v", o, err)
	}
	first := must(t)(q.Next(ctx, "1", CloseAuto))
	clk.Add(3 * time.Minute)
	must(t)(q.Finish(ctx, first.Number))
	if _, ok, err := q.SignInCard(ctx, "1", "079088001122"); ok || err != nil {
		t.Fatalf("a citizen's card signed in: %v %v", ok, err)
	}
	if o, _ := q.SignedIn("1"); o.ID != "lan" {
		t.Fatalf("a citizen's card changed the officer: %+v", o)
	}
	if _, err := q.SignInPIN(ctx, "1", "minh", "1357"); err != nil {
		t.Fatal(err)
	}
	second := must(t)(q.Next(ctx, "1", CloseAuto))
	must(t)(q.Transfer(ctx, second.Number, "", "2"))
	// Lan's card at counter 2 (spaces as the chip may give them).
	if o, ok, err := q.SignInCard(ctx, "2", "0010 9901 2345"); !ok || err != nil || o.ID != "lan" {
		t.Fatalf("card sign-in: %+v %v %v", o, ok, err)
	}
	must(t)(q.Next(ctx, "2", CloseAuto)) // the transferred ticket comes first
	must(t)(q.Recall(ctx, second.Number))
	must(t)(q.Recall(ctx, second.Number))
	must(t)(q.NoShow(ctx, second.Number))
	if err := q.SignOut(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	third := must(t)(q.Next(ctx, "1", CloseAuto))
	if got := strings.Join(staffOf(t, st, KindCalled), ","); got != "lan,minh,lan," {
		t.Errorf("calls by %q", got)
	}
	if got := strings.Join(staffOf(t, st, KindFinished), ","); got != "lan" {
		t.Errorf("finishes by %q", got)
	}
	if got := strings.Join(staffOf(t, st, KindTransferred), ","); got != "minh" {
		t.Errorf("transfers by %q", got)
	}
	if got := strings.Join(staffOf(t, st, KindNoShow), ","); got != "lan" {
		t.Errorf("no-shows by %q", got)
	}
	_ = third
	// The sign-ins are rebuilt from the record after a restart.
	q2 := openQueue(t, st, clk.Now)
	withStaffAndRatings(q2)
	if o, ok := q2.SignedIn("2"); !ok || o.ID != "lan" {
		t.Errorf("after a restart counter 2 has %+v", o)
	}
	if _, ok := q2.SignedIn("1"); ok {
		t.Error("after a restart counter 1 is signed in again")
	}
	// The next day nobody is signed in (day-end sign-out).
	clk.Add(24 * time.Hour)
	if _, ok := q2.SignedIn("2"); ok {
		t.Error("the officer is still signed in the next day")
	}
}

// Five wrong PINs in a row hold the counter's PIN sign-in back for a minute, the
// right PIN included.
func TestPINGuessingHeldBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, clk, _ := newTestQueue(t)
	withStaffAndRatings(q)
	for i := range 5 {
		if _, err := q.SignInPIN(ctx, "3", "minh", "000"+string(rune('0'+i))); status(err) != 401 {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := q.SignInPIN(ctx, "3", "minh", "1357"); status(err) != 429 {
		t.Fatalf("the right PIN during the hold: %v", err)
	}
	clk.Add(61 * time.Second)
	if _, err := q.SignInPIN(ctx, "3", "minh", "1357"); err != nil {
		t.Fatalf("after the hold: %v", err)
	}
}

// The rating API: by the rating token and by the ticket's own link, with every
// refusal in Vietnamese and its HTTP status, and the day's figures from the counters.
func TestRatingsOverHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	withStaffAndRatings(s.q)
	ctx := context.Background()
	var nums []int
	for range 3 {
		nums = append(nums, must(t)(s.q.Issue(ctx, "A", false)).Number)
	}
	link := func(n int) string {
		tk, _, err := s.q.Ticket(n)
		if err != nil {
			t.Fatal(err)
		}
		iss := s.api.describe(tk)
		u, err := url.Parse(iss.StatusURL)
		if err != nil || u.Query().Get("k") == "" {
			t.Fatalf("status URL %q has no rating key", iss.StatusURL)
		}
		return "/api/v1/tickets/" + u.Query().Get("n") + "/rating?d=" + u.Query().Get("d") + "&k=" + u.Query().Get("k")
	}
	post := func(path string, role web.Role, body map[string]any) (int, map[string]any) {
		var out map[string]any
		return s.do(t, "POST", path, role, body, &out), out
	}
	five := map[string]any{"level": 5, "channel": "qr"}
	// Before the finish.
	if c, out := post(link(nums[0]), web.RoleNone, five); c != 409 || !strings.Contains(out["message"].(string), "chưa được phục vụ xong") {
		t.Fatalf("before finish: %d %v", c, out)
	}
	s.q.SignInPIN(ctx, "1", "lan", "2468")
	for _, n := range nums {
		must(t)(s.q.Call(ctx, "1", n, CloseFinish))
		s.clk.Add(2 * time.Minute)
	}
	must(t)(s.q.Finish(ctx, nums[2]))
	// A wrong key, another ticket's key, and no key at all.
	if c, _ := post("/api/v1/tickets/"+itoa(nums[0])+"/rating?k=nope", web.RoleNone, five); c != 403 {
		t.Fatalf("wrong key: %d", c)
	}
	other := strings.Replace(link(nums[1]), "/"+itoa(nums[1])+"/", "/"+itoa(nums[0])+"/", 1)
	if c, _ := post(other, web.RoleNone, five); c != 403 {
		t.Fatalf("another ticket's key: %d", c)
	}
	if c, _ := post("/api/v1/tickets/"+itoa(nums[0])+"/rating", web.RoleCounter, map[string]any{"level": 5, "channel": "tablet"}); c != 403 {
		t.Fatalf("a counter's token may not rate: %d", c)
	}
	// The citizen's phone: level 2 with reasons.
	if c, out := post(link(nums[1]), web.RoleNone, map[string]any{"level": 2, "reasons": []string{"Chờ lâu"}, "channel": "qr"}); c != 201 {
		t.Fatalf("rating by link: %d %v", c, out)
	}
	if c, out := post(link(nums[1]), web.RoleNone, five); c != 409 || !strings.Contains(out["message"].(string), "đã được đánh giá") {
		t.Fatalf("second rating: %d %v", c, out)
	}
	// The tablet: a level, bad reasons, then a good one.
	path2 := "/api/v1/tickets/" + itoa(nums[2]) + "/rating"
	for _, bad := range []map[string]any{{"level": 6, "channel": "tablet"}, {"level": 5, "reasons": []string{"Chờ lâu"}, "channel": "tablet"},
		{"level": 1, "reasons": []string{"bất kỳ"}, "channel": "tablet"}, {"level": 4, "channel": "fax"}} {
		if c, _ := post(path2, web.RoleRating, bad); c != 400 {
			t.Fatalf("%v: %d", bad, c)
		}
	}
	var prompt Prompt
	if c := s.do(t, "GET", "/api/v1/counters/1/rating-prompt", web.RoleRating, nil, &prompt); c != 200 || prompt.Number != nums[2] {
		t.Fatalf("prompt: %d %+v", c, prompt)
	}
	if c, _ := post(path2, web.RoleRating, map[string]any{"level": 4, "channel": "tablet"}); c != 201 {
		t.Fatalf("tablet: %d", c)
	}
	if c := s.do(t, "GET", "/api/v1/counters/1/rating-prompt", web.RoleRating, nil, &prompt); c != 200 || prompt.Number != 0 {
		t.Fatalf("prompt after the rating: %+v", prompt)
	}
	// After the window: the first ticket was finished 4 minutes ago; 7 more make 11.
	s.clk.Add(7 * time.Minute)
	if c, out := post(link(nums[0]), web.RoleNone, five); c != 410 || !strings.Contains(out["message"].(string), "10 phút") {
		t.Fatalf("after the window: %d %v", c, out)
	}
	if c, _ := post("/api/v1/tickets/1999/rating", web.RoleRating, map[string]any{"level": 4, "channel": "tablet"}); c != 404 {
		t.Fatalf("unknown ticket: %d", c)
	}
	// The console's token never sees a rating; the office head's does.
	var st Stats
	if c := s.do(t, "GET", "/api/v1/queue/stats", web.RoleCounter, nil, &st); c != 200 || st.Total.RatingsTotal != 0 ||
		st.Total.SatisfactionPct != nil || len(st.Counters[0].Ratings) != 0 {
		t.Fatalf("the counter's stats: %d %+v", c, st.Total)
	}
	if c := s.do(t, "GET", "/api/v1/queue/stats", web.RoleAdmin, nil, &st); c != 200 {
		t.Fatal(c)
	}
	g := st.Total
	if g.RatingsTotal != 2 || g.Ratings["2"] != 1 || g.Ratings["4"] != 1 || g.SatisfactionPct == nil || *g.SatisfactionPct != 50 ||
		g.ResponseRatePct == nil || *g.ResponseRatePct != 66.7 {
		t.Errorf("figures: %+v", g)
	}
	if st.Counters[0].RatingsTotal != 2 || st.Services[0].RatingsTotal != 2 {
		t.Errorf("per counter and service: %+v %+v", st.Counters[0], st.Services[0])
	}
	// The counters are what the hub receives.
	rows, _ := s.st.Counters(ctx, st.Day)
	var sat int64
	for _, r := range rows {
		if r.Metric == vocab.RatingsSatisfied {
			sat += r.Value
		}
	}
	if sat != 1 {
		t.Errorf("ratings.satisfied = %d", sat)
	}
	// The rating's event names the officer who finished the ticket.
	if got := strings.Join(staffOf(t, s.st, KindRated), ","); got != "lan,lan" {
		t.Errorf("ratings' officers %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The officers' report: one officer's morning, figure by figure, and its CSV.
func TestOfficersReport(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	withStaffAndRatings(s.q)
	ctx := context.Background()
	at := func(hhmm string) {
		t.Helper()
		d, _ := time.ParseInLocation("2006-01-02 15:04", "2026-03-02 "+hhmm, ict)
		if d.Before(s.clk.Now()) {
			t.Fatalf("time goes back to %s", hhmm)
		}
		s.clk.Set(d)
	}
	if _, err := s.q.SignInPIN(ctx, "1", "lan", "2468"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		must(t)(s.q.Issue(ctx, "A", false))
	}
	a := must(t)(s.q.Next(ctx, "1", CloseAuto))
	at("08:04")
	must(t)(s.q.Finish(ctx, a.Number)) // 4 minutes of service
	at("08:05")
	if _, err := s.q.Rate(ctx, RatingRequest{Number: a.Number, Level: 2, Channel: ChannelTablet}); err != nil {
		t.Fatal(err)
	}
	at("08:10") // 6 minutes with nothing open
	b := must(t)(s.q.Next(ctx, "1", CloseAuto))
	at("08:12")
	must(t)(s.q.Recall(ctx, b.Number))
	must(t)(s.q.Recall(ctx, b.Number))
	must(t)(s.q.NoShow(ctx, b.Number))
	c := must(t)(s.q.Next(ctx, "1", CloseAuto))
	at("08:20")
	must(t)(s.q.Finish(ctx, c.Number)) // 8 minutes
	at("08:21")
	if _, err := s.q.RateLast(ctx, "1", 5, ChannelKeypad); err != nil {
		t.Fatal(err)
	}
	if _, err := s.q.RateLast(ctx, "1", 1, ChannelKeypad); status(err) != 409 {
		t.Fatalf("a second press on the keypad: %v", err)
	}
	if _, err := s.q.RateLast(ctx, "2", 4, ChannelKeypad); status(err) != 404 {
		t.Fatalf("a keypad at a counter that finished nothing: %v", err)
	}
	at("08:30")
	if err := s.q.SignOut(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	at("09:00")
	var rep OfficersReport
	if code := s.do(t, "GET", "/api/v1/queue/officers?day=2026-03-02", web.RoleCounter, nil, nil); code != 403 {
		t.Fatalf("a counter's token read the officers' report: %d", code)
	}
	if code := s.do(t, "GET", "/api/v1/queue/officers?day=2026-03-02", web.RoleAdmin, nil, &rep); code != 200 || len(rep.Officers) != 1 {
		t.Fatalf("report: %d %+v", code, rep)
	}
	o := rep.Officers[0]
	if o.ID != "lan" || o.Name != "Nguyễn Thị Lan" || o.Served != 2 || o.AvgServiceSec == nil || *o.AvgServiceSec != 360 ||
		o.P90ServiceSec != 480 || o.SignedInSec != 1800 || o.IdleSec != 960 || o.NoShows != 1 || o.Transfers != 0 ||
		o.RatingsTotal != 2 || o.Ratings["2"] != 1 || o.Ratings["5"] != 1 ||
		o.Satisfaction == nil || *o.Satisfaction != 50 || o.ResponseRate == nil || *o.ResponseRate != 100 {
		t.Errorf("lan's morning: %+v", o)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/queue/officers.csv?day=2026-03-02&days=7", nil)
	req.Header.Set("Authorization", "Bearer "+testTokens[web.RoleAdmin])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "\ufeffMã cán bộ,Họ và tên") ||
		strings.TrimSpace(lines[1]) != "lan,Nguyễn Thị Lan,24/02/2026,02/03/2026,2,\"6,0\",\"8,0\",\"30,0\",\"16,0\",1,0,2,0,1,0,0,1,\"50,0\",\"100,0\"" {
		t.Errorf("CSV:\n%s", body)
	}
}
