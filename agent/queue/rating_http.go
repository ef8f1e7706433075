package queue

import (
	"net/http"
	"time"

	"motcua-agent/agent/web"
	"motcua-agent/config"
)

// RatingRates hold the rating and sign-in writes: a counter finishes a ticket every few
// minutes, so a client sending more than a few a minute is guessing (a PIN, a link).
var RatingRates = web.Rates{
	PerClient: web.Rate{Burst: 20, Every: 3 * time.Second},
	Shared:    web.Rate{Burst: 20, Every: 3 * time.Second},
	Message:   "Đang nhận quá nhiều yêu cầu. Mời chờ một lát rồi thử lại.",
}

// registerStaffAndRatings adds the officers' sign-in and the ratings' routes.
func (a *API) registerStaffAndRatings(s *web.Server) {
	s.HandleFunc("GET /api/v1/counters/{counter}/officer", a.officer, web.RoleCounter)
	s.HandleFunc("POST /api/v1/counters/{counter}/signin", s.Limited(RatingRates, a.signIn), web.RoleCounter)
	s.HandleFunc("POST /api/v1/counters/{counter}/signout", a.signOut, web.RoleCounter)
	s.HandleFunc("GET /api/v1/rating/options", a.ratingOptions)
	s.HandleFunc("GET /api/v1/counters/{counter}/rating-prompt", a.ratingPrompt, web.RoleRating)
	// The ticket's own link (?d=DAY&k=KEY) or a rating token: checked in the handlers.
	s.HandleFunc("GET /api/v1/tickets/{number}/rating", a.ratingState)
	s.HandleFunc("POST /api/v1/tickets/{number}/rating", s.Limited(RatingRates, a.rate))
}

func (a *API) officer(w http.ResponseWriter, r *http.Request) {
	counter := r.PathValue("counter")
	if err := a.Q.checkCounter(counter); err != nil {
		writeErr(w, err)
		return
	}
	out := map[string]any{"officer": nil, "officers": a.Q.Officers()}
	if o, ok := a.Q.SignedIn(counter); ok {
		out["officer"] = o
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (a *API) signIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Officer string `json:"officer"`
		PIN     string `json:"pin"`
	}
	if !web.ReadJSON(w, r, &body) {
		return
	}
	o, err := a.Q.SignInPIN(r.Context(), r.PathValue("counter"), body.Officer, body.PIN)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"officer": o})
}

func (a *API) signOut(w http.ResponseWriter, r *http.Request) {
	if err := a.Q.SignOut(r.Context(), r.PathValue("counter")); err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"officer": nil})
}

// RatingOptions are the levels and reasons a rating page offers, worst level first.
type RatingOptions struct {
	Enabled       bool          `json:"enabled"`
	Office        string        `json:"office"`
	Levels        []RatingLevel `json:"levels"`
	Reasons       []string      `json:"reasons"`
	WindowMinutes int           `json:"window_minutes"`
}

// RatingLevel is one button: its canonical level and its words.
type RatingLevel struct {
	Level int    `json:"level"`
	Words string `json:"words"`
	Low   bool   `json:"low"` // reasons may be asked for
}

func (a *API) options() RatingOptions {
	rc := a.Q.cfg.Rating
	o := RatingOptions{Enabled: rc.Enabled, Office: a.Office, Reasons: rc.Reasons, WindowMinutes: rc.WindowMinutes}
	for _, l := range config.RatingLevels(rc.Levels) {
		o.Levels = append(o.Levels, RatingLevel{Level: l, Words: LevelWords(l, rc.Levels), Low: lowLevel(l)})
	}
	if o.Reasons == nil {
		o.Reasons = []string{}
	}
	return o
}

func (a *API) ratingOptions(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, a.options())
}

func (a *API) ratingPrompt(w http.ResponseWriter, r *http.Request) {
	counter := r.PathValue("counter")
	if err := a.Q.checkCounter(counter); err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, a.Q.PromptFor(counter))
}

// mayRate says whether the request may rate ticket n: a rating (or admin) token, or the
// ticket's own link of today. A refusal has been written when false.
func (a *API) mayRate(w http.ResponseWriter, r *http.Request, n int) bool {
	if role := web.RoleOf(r); role == web.RoleRating || role == web.RoleAdmin {
		return true
	}
	day := r.URL.Query().Get("d")
	if today := a.Q.st.Day(a.Q.now()); day != "" && day != today {
		writeErr(w, refuse(http.StatusGone, "Phiếu này của ngày khác, đã hết thời gian đánh giá.", "the ticket was for another day"))
		return false
	}
	if !a.Q.checkRatingKey(a.Q.st.Day(a.Q.now()), n, r.URL.Query().Get("k")) {
		writeErr(w, refuse(http.StatusForbidden, "Đường dẫn đánh giá không đúng. Mời ông/bà quét lại mã QR trên phiếu.", "missing or wrong rating key"))
		return false
	}
	return true
}

// ratingState tells a rating page whether the ticket may be rated now, and how.
func (a *API) ratingState(w http.ResponseWriter, r *http.Request) {
	n, ok := pathNumber(w, r)
	if !ok || !a.mayRate(w, r, n) {
		return
	}
	q := a.Q
	q.mu.Lock()
	now := q.now()
	t, err := q.today(now).find(n)
	var why error
	var until time.Time
	if err == nil {
		why = q.ratable(t, now)
		until = t.FinishedAt.Add(q.window())
	}
	q.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	out := map[string]any{"number": n, "can_rate": why == nil, "options": a.options()}
	if why == nil {
		out["until"] = until
	} else if e, ok := why.(*Error); ok {
		out["message"] = e.Vi
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (a *API) rate(w http.ResponseWriter, r *http.Request) {
	n, ok := pathNumber(w, r)
	if !ok || !a.mayRate(w, r, n) {
		return
	}
	var body struct {
		Level   int      `json:"level"`
		Reasons []string `json:"reasons"`
		Channel string   `json:"channel"`
	}
	if !web.ReadJSON(w, r, &body) {
		return
	}
	if web.RoleOf(r) == web.RoleNone && body.Channel != ChannelQR {
		// The ticket's own link is the citizen's phone.
		writeErr(w, refuse(http.StatusBadRequest, "Yêu cầu không hợp lệ.", "a rating by the ticket's link has channel qr"))
		return
	}
	rt, err := a.Q.Rate(r.Context(), RatingRequest{Number: n, Level: body.Level, Reasons: body.Reasons, Channel: body.Channel})
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, map[string]any{"rating": rt, "message": "Cảm ơn ông/bà đã đánh giá."})
}
