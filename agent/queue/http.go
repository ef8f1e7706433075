package queue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
)

// Slip is what goes on a printed ticket.
type Slip struct {
	Office      string
	Service     string // the service's name
	Number      int
	Priority    bool
	Issued      time.Time
	Ahead       int
	Estimate    time.Duration
	StatusURL   string
	Counters    []string // the counters that serve the service
	Location    string   // where those counters are
	PaperWidth  int
	TicketDay   string
	ServiceCode string
}

// PrintFunc prints a slip; it must return within its context's deadline.
type PrintFunc func(ctx context.Context, s Slip) error

// API is the queue's HTTP face.
type API struct {
	Q         *Queue
	Office    string
	PublicURL string
	Print     PrintFunc // nil: no printer
	// PrintTimeout bounds the printing of one ticket (the kiosk answers anyway).
	PrintTimeout time.Duration
	// PrinterProblem says, in Vietnamese, what is wrong with the ticket printer ("" when
	// it is ready or there is none), so the kiosk can say so before the tap.
	PrinterProblem func() string

	cardMu sync.Mutex
	// cardPriority holds, per kiosk station, until when its next ticket is priority
	// because an ID card read there showed an old enough holder. Only this fact is
	// kept, never the card's data.
	cardPriority map[string]time.Time
}

// cardPriorityFor is how long a card's priority waits for the ticket it is for.
const cardPriorityFor = 2 * time.Minute

// CardRead applies the priority rule to an ID card read at a kiosk station: a holder
// who has reached queue.priority_age (on the site's calendar) makes the station's next
// ticket priority; any other card takes that back. birth is the chip's "dd/mm/yyyy";
// it is compared here, in memory, and dropped. It reports whether the holder qualifies.
func (a *API) CardRead(station, birth string) bool {
	if station == "" || birth == "" {
		return false
	}
	loc := a.Q.st.Location()
	born, err := time.ParseInLocation("02/01/2006", birth, loc)
	if err != nil {
		return false
	}
	eligible := Age(born, a.Q.now().In(loc)) >= a.Q.cfg.PriorityAge
	a.MarkCardPriority(station, eligible)
	return eligible
}

// MarkCardPriority notes that an ID card was read at a kiosk station: eligible makes
// that station's next ticket (within two minutes) a priority one. The kiosk page is
// told so it can say so.
func (a *API) MarkCardPriority(station string, eligible bool) {
	a.cardMu.Lock()
	if a.cardPriority == nil {
		a.cardPriority = map[string]time.Time{}
	}
	if eligible {
		a.cardPriority[station] = a.Q.now().Add(cardPriorityFor)
	} else {
		delete(a.cardPriority, station)
	}
	a.cardMu.Unlock()
	if a.Q.bus != nil {
		a.Q.bus.Publish(bus.Message{Topic: Topic, Public: Change{Action: "card", Station: station, Priority: eligible}})
	}
}

// takeCardPriority consumes a station's card priority, if it has a fresh one.
func (a *API) takeCardPriority(station string) bool {
	a.cardMu.Lock()
	defer a.cardMu.Unlock()
	until, ok := a.cardPriority[station]
	delete(a.cardPriority, station)
	return ok && a.Q.now().Before(until)
}

// IssueResponse is the answer to POST /api/v1/tickets.
type IssueResponse struct {
	Ticket      Ticket   `json:"ticket"`
	ServiceName string   `json:"service_name"`
	Counters    []string `json:"counters"`
	// Location is where the counters are when they are all in one place; Where says
	// each counter's place in words ("Quầy 1, 2: Tầng 1, bên trái · Quầy 3: …").
	Location    string `json:"location,omitempty"`
	Where       string `json:"where"`
	Ahead       int    `json:"ahead"`
	EstimateMin int    `json:"estimated_wait_min"`
	StatusURL   string `json:"status_url"`
	Printed     bool   `json:"printed"`
	// Notice is shown on the kiosk when the ticket could not be printed (Vietnamese).
	Notice string `json:"notice,omitempty"`
}

// Register adds the API routes to the server.
func (a *API) Register(s *web.Server) {
	s.HandleFunc("GET /api/v1/queue/services", a.services)
	s.HandleFunc("POST /api/v1/tickets", s.Limited(web.TicketRates, a.issue), web.RoleKiosk)
	s.HandleFunc("GET /api/v1/tickets/{number}", a.ticket)
	s.HandleFunc("POST /api/v1/tickets/{number}/{action}", a.act, web.RoleCounter)
	s.HandleFunc("POST /api/v1/tickets/{number}/reprint", s.Limited(web.ReprintRates, a.reprint), web.RoleKiosk, web.RoleCounter)
	s.HandleFunc("POST /api/v1/counters/{counter}/next", a.next, web.RoleCounter)
	s.HandleFunc("POST /api/v1/counters/{counter}/pause", func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("action", "pause")
		a.pause(w, r)
	}, web.RoleCounter)
	s.HandleFunc("POST /api/v1/counters/{counter}/resume", func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("action", "resume")
		a.pause(w, r)
	}, web.RoleCounter)
	s.HandleFunc("GET /api/v1/queue", a.snapshot, web.RoleCounter, web.RoleDisplay, web.RoleKiosk)
	s.HandleFunc("GET /api/v1/queue/stats", a.stats, web.RoleCounter, web.RoleDisplay)
	s.AddStatus("queue", a.dashboard)
	a.RegisterReports(s)
	a.registerStaffAndRatings(s)
	a.registerOfficers(s)
}

// dashboard is the queue's block on the dashboard: today's figures in Vietnamese, as
// rows in a deliberate order (totals, then services in config order).
func (a *API) dashboard(ctx context.Context) web.Block {
	st, err := a.Q.Stats(ctx, "")
	if err != nil {
		a.Q.log.Warn("queue: dashboard figures", "err", err)
		return web.FaultBlock("Hàng chờ", "Không đọc được số liệu hàng chờ.")
	}
	b := web.Block{Title: "Hàng chờ hôm nay (" + vocab.Day(st.Day) + ")"}
	b.AddNumber("Số phiếu đã phát", int64(st.Total.Issued))
	b.AddNumber("Đã phục vụ", int64(st.Total.Served))
	b.AddNumber("Vắng mặt", int64(st.Total.NoShows))
	b.AddNumber("Đã hủy", int64(st.Total.Cancelled))
	b.AddNumber("Đã chuyển dịch vụ hoặc quầy (lượt)", int64(st.Total.Transferred))
	b.AddNumber("Gọi lại (lần)", int64(st.Total.Recalls))
	b.AddNumber("Đang chờ", int64(st.Total.WaitingNow))
	b.Add(vocab.LookupFigure(vocab.FigureAvgWait).Label, st.Total.Say(vocab.FigureAvgWait))
	b.Add("9 trên 10 người chờ không quá", vocab.Seconds(st.Total.P90WaitSec))
	b.Add(vocab.LookupFigure(vocab.FigureAvgService).Label, st.Total.Say(vocab.FigureAvgService))
	if n := a.Q.Notice(); n != "" {
		b.Add("Lưu ý về số thứ tự", n)
		b.Warn()
	}
	for _, g := range st.Services {
		name := g.Name
		if name == "" {
			name = "Dịch vụ đã bỏ khỏi cấu hình"
		}
		b.Add(name, fmt.Sprintf("đã phát %s · đã phục vụ %s · vắng mặt %s · đang chờ %s · chờ trung bình %s",
			vocab.Number(int64(g.Issued)), vocab.Number(int64(g.Served)), vocab.Number(int64(g.NoShows)), vocab.Number(int64(g.WaitingNow)), g.Say(vocab.FigureAvgWait)))
	}
	return b
}

func writeErr(w http.ResponseWriter, err error) {
	var e *Error
	if errors.As(err, &e) {
		if len(e.Choices) > 0 {
			web.WriteJSON(w, e.Status, map[string]any{"error": e.En, "message": e.Vi, "open": e.Open, "choices": e.Choices})
			return
		}
		web.WriteError(w, e.Status, e.En, e.Vi)
		return
	}
	web.WriteFailure(w, err, http.StatusServiceUnavailable, "Hệ thống đang bận, vui lòng thử lại.")
}

func (a *API) services(w http.ResponseWriter, r *http.Request) {
	snap := a.Q.Snapshot()
	type counter struct {
		ID       string   `json:"id"`
		Location string   `json:"location,omitempty"`
		Services []string `json:"services"`
	}
	counters := []counter{}
	for _, c := range a.Q.cfg.Counters {
		counters = append(counters, counter{ID: c.ID, Location: c.Location, Services: c.Services})
	}
	_, off := a.Q.now().In(a.Q.st.Location()).Zone()
	printer := ""
	if a.PrinterProblem != nil {
		printer = a.PrinterProblem()
	}
	notices := a.Q.cfg.Notices
	if notices == nil {
		notices = []string{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"office": a.Office, "services": snap.Services, "counters": counters,
		"no_show_after_recalls": a.Q.cfg.NoShowAfterRecalls, "utc_offset_min": off / 60, "notices": notices,
		"printer_problem": printer})
}

// StatusURL is the page a ticket's QR points to; with ratings on it carries the
// ticket's rating key (k), so its holder can rate it from that page once served.
func (a *API) StatusURL(t Ticket) string {
	u := fmt.Sprintf("%s/ticket?n=%d&d=%s", a.PublicURL, t.Number, url.QueryEscape(t.Day))
	if k := a.Q.RatingKey(t.Day, t.Number); k != "" {
		u += "&k=" + k
	}
	return u
}

func (a *API) issue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Service  string `json:"service"`
		Priority bool   `json:"priority"`
		// BirthDate (YYYY-MM-DD, from the ID card read at the kiosk) makes the ticket
		// priority when the citizen has reached queue.priority_age. It is used for
		// that comparison only: never stored, logged or sent on.
		BirthDate string `json:"birth_date"`
		// Station names the kiosk (its card reader's counter name), for the priority
		// an ID card read there gives.
		Station string `json:"station"`
	}
	if !web.ReadJSON(w, r, &req) {
		return
	}
	if len(req.Station) > 64 {
		// A station is a card reader's counter name ("kiosk-1"), only ever looked up.
		web.WriteError(w, http.StatusBadRequest, "station: at most 64 bytes", "Yêu cầu không hợp lệ.")
		return
	}
	priority := req.Priority
	if req.BirthDate != "" {
		born, err := time.ParseInLocation("2006-01-02", req.BirthDate, a.Q.st.Location())
		if err != nil {
			web.WriteError(w, http.StatusBadRequest, "birth_date must be YYYY-MM-DD", "Ngày sinh không hợp lệ.")
			return
		}
		priority = priority || Age(born, a.Q.now().In(a.Q.st.Location())) >= a.Q.cfg.PriorityAge
	}
	if _, ok := a.Q.Service(req.Service); ok && req.Station != "" && a.takeCardPriority(req.Station) {
		priority = true
	}
	t, err := a.Q.Issue(r.Context(), req.Service, priority)
	if err != nil {
		writeErr(w, err)
		return
	}
	resp := a.describe(t)
	resp.Printed, resp.Notice = a.print(r.Context(), a.slip(t, resp))
	web.WriteJSON(w, http.StatusCreated, resp)
}

// Where groups counters by their place: the common place when there is one, and the
// words "Quầy 1, 2 (Tầng 1, bên trái) · Quầy 3 (Tầng 1, bên phải)".
func Where(cs []config.QueueCounter) (common, words string) {
	var places []string
	ids := map[string][]string{}
	for _, c := range cs {
		if _, ok := ids[c.Location]; !ok {
			places = append(places, c.Location)
		}
		ids[c.Location] = append(ids[c.Location], c.ID)
	}
	var parts []string
	for _, p := range places {
		part := "Quầy " + strings.Join(ids[p], ", ")
		if p != "" {
			part += " (" + p + ")"
		}
		parts = append(parts, part)
	}
	if len(places) == 1 {
		common = places[0]
	}
	return common, strings.Join(parts, " · ")
}

// whereSlip is the printed line after "Quầy phục vụ: " when the counters are in
// different places: "1, 2 (Tầng 1, bên trái); 3 (Tầng 1, bên phải)".
func whereSlip(q *Queue, ids []string) string {
	var places []string
	byPlace := map[string][]string{}
	for _, id := range ids {
		p := q.counters[id].Location
		if _, ok := byPlace[p]; !ok {
			places = append(places, p)
		}
		byPlace[p] = append(byPlace[p], id)
	}
	parts := make([]string, 0, len(places))
	for _, p := range places {
		part := strings.Join(byPlace[p], ", ")
		if p != "" {
			part += " (" + p + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// Age is the age in whole years on a day.
func Age(born, on time.Time) int {
	age := on.Year() - born.Year()
	if on.Month() < born.Month() || (on.Month() == born.Month() && on.Day() < born.Day()) {
		age--
	}
	return age
}

func (a *API) slip(t Ticket, resp IssueResponse) Slip {
	counters := resp.Counters
	if resp.Location == "" && resp.Where != "" {
		// Counters in different places: each group with its place, on one line.
		counters = []string{whereSlip(a.Q, resp.Counters)}
	}
	return Slip{Office: a.Office, Service: resp.ServiceName, Number: t.Number, Priority: t.Priority,
		Issued: t.IssuedAt.In(a.Q.st.Location()), Ahead: resp.Ahead, Estimate: time.Duration(resp.EstimateMin) * time.Minute,
		StatusURL: resp.StatusURL, Counters: counters, Location: resp.Location, TicketDay: t.Day, ServiceCode: t.Service}
}

// reprint prints a waiting or called ticket again (a lost or unreadable slip).
func (a *API) reprint(w http.ResponseWriter, r *http.Request) {
	n, ok := pathNumber(w, r)
	if !ok {
		return
	}
	t, _, err := a.Q.Ticket(n)
	if err == nil && t.State != Waiting && t.State != Called {
		err = refuse(http.StatusConflict, "Chỉ in lại được phiếu của số đang chờ hoặc đang được gọi.", "ticket %d is %s", t.Number, t.State)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	resp := a.describe(t)
	resp.Printed, resp.Notice = a.print(r.Context(), a.slip(t, resp))
	if _, err := a.Q.st.Append(context.WithoutCancel(r.Context()), store.Event{Kind: KindReprinted, Site: a.Q.site,
		Service: t.Service, Attrs: store.AttrsOf(PrintAttrs{Number: t.Number, Printed: resp.Printed})}); err != nil {
		a.Q.log.Warn("queue: record reprint", "err", err)
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// print prints a slip; a fault never undoes the ticket, it becomes a notice for the
// kiosk screen and an event that counts unprinted tickets.
func (a *API) print(ctx context.Context, s Slip) (bool, string) {
	if a.Print == nil {
		return false, ""
	}
	limit := a.PrintTimeout
	if limit <= 0 {
		limit = 3 * time.Second
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	err := a.Print(pctx, s)
	if err == nil {
		return true, ""
	}
	a.Q.log.Warn("queue: ticket not printed", "number", s.Number, "err", err)
	_, aerr := a.Q.st.Append(context.WithoutCancel(ctx), store.Event{Kind: KindPrintFailed, Site: a.Q.site,
		Service: s.ServiceCode, Attrs: store.AttrsOf(PrintAttrs{Number: s.Number, Error: err.Error()}),
		Counts: []store.Count{{Metric: MetricUnprinted, Dims: map[string]string{"service": s.ServiceCode}, Value: 1}}})
	if aerr != nil {
		a.Q.log.Warn("queue: record print failure", "err", aerr)
	}
	return false, "Máy in phiếu đang gặp sự cố nên chưa in được phiếu. Mời ông/bà ghi nhớ số thứ tự hoặc chụp lại màn hình."
}

// MetricUnprinted counts tickets issued while the printer could not print them.
const MetricUnprinted = vocab.TicketsUnprinted

func (a *API) describe(t Ticket) IssueResponse {
	svc, _ := a.Q.Service(t.Service)
	_, ahead, _ := a.Q.Ticket(t.Number)
	resp := IssueResponse{Ticket: t, ServiceName: svc.Name, Counters: []string{}, Ahead: ahead, StatusURL: a.StatusURL(t)}
	cs := a.Q.CountersFor(t.Service)
	if t.TargetCounter != "" {
		cs = []config.QueueCounter{a.Q.counters[t.TargetCounter]}
	}
	for _, c := range cs {
		resp.Counters = append(resp.Counters, c.ID)
	}
	resp.Location, resp.Where = Where(cs)
	resp.EstimateMin = EstimateMinutes(a.Q.Estimate(t.Service, ahead), ahead)
	return resp
}

func pathNumber(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n < 1 || n > 9999 {
		web.WriteError(w, http.StatusBadRequest, "ticket number must be 1..9999", "Số thứ tự không hợp lệ.")
		return 0, false
	}
	return n, true
}

func (a *API) ticket(w http.ResponseWriter, r *http.Request) {
	n, ok := pathNumber(w, r)
	if !ok {
		return
	}
	t, _, err := a.Q.Ticket(n)
	if err == nil && r.URL.Query().Get("d") != "" && r.URL.Query().Get("d") != t.Day {
		err = &Error{Status: http.StatusGone, En: "that ticket was for another day", Vi: "Số thứ tự này của ngày khác, đã hết hiệu lực."}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, a.describe(t))
}

func (a *API) act(w http.ResponseWriter, r *http.Request) {
	n, ok := pathNumber(w, r)
	if !ok {
		return
	}
	var body struct {
		Counter string `json:"counter"`
		Service string `json:"service"`
		Close   string `json:"close"`
	}
	if r.ContentLength != 0 && !web.ReadJSON(w, r, &body) {
		return
	}
	ctx := r.Context()
	var t Ticket
	how, err := ParseClose(body.Close)
	if err != nil {
		writeErr(w, err)
		return
	}
	switch r.PathValue("action") {
	case "call":
		t, err = a.Q.Call(ctx, body.Counter, n, how)
	case "recall":
		t, err = a.Q.Recall(ctx, n)
	case "noshow":
		t, err = a.Q.NoShow(ctx, n)
	case "start":
		t, err = a.Q.Start(ctx, n)
	case "finish":
		t, err = a.Q.Finish(ctx, n)
	case "cancel":
		t, err = a.Q.Cancel(ctx, n)
	case "transfer":
		t, err = a.Q.Transfer(ctx, n, body.Service, body.Counter)
	default:
		web.WriteError(w, http.StatusNotFound, "unknown action (call, recall, noshow, start, finish, cancel, transfer)",
			"Thao tác không tồn tại.")
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, t)
}

// closeBody reads the optional {"close": "finish"|"noshow"} of next and pause.
func closeBody(w http.ResponseWriter, r *http.Request) (Close, bool) {
	var body struct {
		Close string `json:"close"`
	}
	if r.ContentLength != 0 && !web.ReadJSON(w, r, &body) {
		return "", false
	}
	how, err := ParseClose(body.Close)
	if err != nil {
		writeErr(w, err)
		return "", false
	}
	return how, true
}

func (a *API) next(w http.ResponseWriter, r *http.Request) {
	how, ok := closeBody(w, r)
	if !ok {
		return
	}
	t, err := a.Q.Next(r.Context(), r.PathValue("counter"), how)
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, t)
}

func (a *API) pause(w http.ResponseWriter, r *http.Request) {
	how, ok := closeBody(w, r)
	if !ok {
		return
	}
	var err error
	if r.PathValue("action") == "resume" {
		err = a.Q.Resume(r.Context(), r.PathValue("counter"))
	} else {
		err = a.Q.Pause(r.Context(), r.PathValue("counter"), how)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"counter": r.PathValue("counter"), "paused": r.PathValue("action") == "pause"})
}

func (a *API) snapshot(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, a.Q.Snapshot())
}

// queryDay reads ?day=YYYY-MM-DD (today when absent); a bad day is answered here.
func (a *API) queryDay(w http.ResponseWriter, r *http.Request) (string, bool) {
	day := r.URL.Query().Get("day")
	if day == "" {
		return a.Q.st.Day(a.Q.now()), true
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		web.WriteError(w, http.StatusBadRequest, "day must be YYYY-MM-DD", "Ngày không hợp lệ.")
		return "", false
	}
	return day, true
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	day, ok := a.queryDay(w, r)
	if !ok {
		return
	}
	st, err := a.Q.Stats(r.Context(), day)
	if err != nil {
		writeErr(w, err)
		return
	}
	if web.RoleOf(r) != web.RoleAdmin {
		st.withoutRatings()
	}
	web.WriteJSON(w, http.StatusOK, st)
}
