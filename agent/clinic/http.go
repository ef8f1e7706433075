package clinic

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"motcua-agent/agent/web"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/bhyt"
)

//go:embed pages/reception.html
var pages embed.FS

// StationStatus is a station as its reception page sees it.
type StationStatus struct {
	Station   string   `json:"station"`
	Title     string   `json:"title"`
	Operator  string   `json:"operator"`
	Operators []string `json:"operators"`
	// Choices name each operator for the page (the account file's operator name; the
	// key when it has none): people pick a name, not "dd-lan".
	Choices   []OperatorChoice `json:"operator_choices"`
	Reachable bool             `json:"reachable"` // the gateway answered the last attempt
	Queued    int              `json:"queued"`    // look-ups of this station waiting for the gateway
	// Full: clinic.max_pending look-ups (of every station) wait, so a new one is not
	// kept for retry.
	Full   bool  `json:"full"`
	Latest *View `json:"latest,omitempty"`
}

// OperatorChoice is one operator a station may look up as.
type OperatorChoice struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Station is a station's state; the latest look-up's patient only when personal.
func (f *Flow) Station(id string, personal bool) (StationStatus, error) {
	st, ok := f.cfg.Station(id)
	if !ok {
		return StationStatus{}, fmt.Errorf("%w %q", ErrUnknownStation, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := StationStatus{Station: st.ID, Title: st.Title, Operator: f.operators[st.ID], Operators: f.d.Accounts.Keys(),
		Reachable: f.reachable}
	for _, k := range s.Operators {
		c := OperatorChoice{Key: k, Name: k}
		if a, ok := f.d.Accounts.Operator(k); ok && a.OperatorName != "" {
			c.Name = a.OperatorName
		}
		s.Choices = append(s.Choices, c)
	}
	for l := range f.pending {
		if l.req.Station == st.ID && l.state == StateQueued {
			s.Queued++
		}
	}
	s.Full = len(f.pending) >= f.cfg.MaxPending
	if l := f.latest[st.ID]; l != nil {
		v := f.view(l, personal)
		s.Latest = &v
	}
	return s, nil
}

// Today is the day's look-up counts.
type Today struct {
	Day       string           `json:"day"`
	Lookups   int64            `json:"lookups"`
	Successes int64            `json:"successes"`
	Failures  map[string]int64 `json:"failures"`
}

// Today reads the day's counters.
func (f *Flow) Today(ctx context.Context) (Today, error) {
	day, err := f.d.Store.TallyDay(ctx, f.d.Now())
	if err != nil {
		return Today{}, err
	}
	return Today{Day: day.Day, Lookups: day.Total(MetricLookups), Successes: day.Total(MetricSuccesses),
		Failures: day.By("reason", MetricFailures)}, nil
}

// Register adds the reception page, the look-up API, the dashboard block and the
// metrics' Vietnamese labels to the agent's web server.
func (f *Flow) Register(w *web.Server) {
	w.HandleFunc("GET /clinic/reception", web.ServeFile(pages, "pages/reception.html"))
	w.HandleFunc("GET /api/v1/clinic/stations/{station}", func(rw http.ResponseWriter, r *http.Request) {
		s, err := f.Station(r.PathValue("station"), w.MayReceivePersonal(web.RoleOf(r)))
		if err != nil {
			web.WriteError(rw, http.StatusNotFound, err.Error(), textUnknownStation)
			return
		}
		web.WriteJSON(rw, http.StatusOK, s)
	}, web.RoleCounter, web.RoleDisplay)
	w.HandleFunc("POST /api/v1/clinic/lookups", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Station, Number, Name, Birth, Operator string }
		if !web.ReadJSON(rw, r, &body) {
			return
		}
		if _, err := bhyt.WireBirth(body.Birth); err != nil || strings.TrimSpace(body.Number) == "" || strings.TrimSpace(body.Name) == "" {
			web.WriteError(rw, http.StatusBadRequest, "number, name and birth (dd/mm/yyyy) are required", textBadTyped)
			return
		}
		if _, ok := f.d.Accounts.Operator(body.Operator); body.Operator != "" && !ok {
			web.WriteError(rw, http.StatusBadRequest, "no operator "+body.Operator+" in the accounts file", textUnknownOperator)
			return
		}
		v, err := f.Submit(f.ctx, Request{Station: body.Station, Source: SourceTyped,
			Number: strings.TrimSpace(body.Number), Name: strings.TrimSpace(body.Name), Birth: strings.TrimSpace(body.Birth),
			Operator: body.Operator})
		if errors.Is(err, ErrStopped) {
			web.WriteError(rw, http.StatusServiceUnavailable, err.Error(), textStopping)
			return
		}
		if err != nil {
			web.WriteError(rw, http.StatusNotFound, err.Error(), textUnknownStation)
			return
		}
		if !w.MayReceivePersonal(web.RoleOf(r)) {
			v.Patient = nil
		}
		web.WriteJSON(rw, http.StatusAccepted, v)
	}, web.RoleCounter)
	w.HandleFunc("POST /api/v1/clinic/stations/{station}/operator", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Operator string }
		if !web.ReadJSON(rw, r, &body) {
			return
		}
		err := f.SetOperator(r.PathValue("station"), body.Operator)
		switch {
		case err == nil:
			web.WriteJSON(rw, http.StatusOK, map[string]any{"ok": true})
		case errors.Is(err, ErrUnknownStation):
			web.WriteError(rw, http.StatusNotFound, err.Error(), textUnknownStation)
		default:
			web.WriteError(rw, http.StatusBadRequest, err.Error(), textUnknownOperator)
		}
	}, web.RoleCounter)
	w.AddStatus("clinic", f.dashboardBlock)
	for _, st := range f.cfg.Stations {
		w.AddPage(web.Page{Path: "/clinic/reception?station=" + url.QueryEscape(st.ID), Title: textPageTitle + " (" + st.Title + ")", Role: web.RoleCounter})
	}
}

// dashboardBlock is the clinic's block on the dashboard, in Vietnamese.
func (f *Flow) dashboardBlock(ctx context.Context) web.Block {
	t, err := f.Today(ctx)
	if err != nil {
		f.d.Log.Warn("clinic: dashboard figures", "err", err)
		return web.FaultBlock(textDashTitle, "Không đọc được số liệu tra cứu.")
	}
	var fails []string
	for r, n := range t.Failures {
		fails = append(fails, fmt.Sprintf("%s: %s", reasonTexts[r].headline, vocab.Number(n)))
	}
	sort.Strings(fails)
	f.mu.Lock()
	queued, reachable := 0, f.reachable
	for l := range f.pending {
		if l.state == StateQueued {
			queued++
		}
	}
	f.mu.Unlock()
	b := web.Block{Title: textDashTitle}
	b.AddNumber("Lượt tra cứu hôm nay", t.Lookups)
	b.AddNumber("Tra cứu thành công", t.Successes)
	b.Add("Không thành công (theo lý do)", cmp.Or(strings.Join(fails, "; "), "không có"))
	b.Add("Lượt đang chờ cổng giám định", fmt.Sprintf("%s (tối đa %s)", vocab.Number(int64(queued)), vocab.Number(int64(f.cfg.MaxPending))))
	if queued > 0 {
		b.Warn()
	}
	if reachable {
		b.Add("Cổng giám định BHYT", textGatewayOK)
	} else {
		b.Add("Cổng giám định BHYT", textGatewayDown)
		b.Warn() // look-ups wait in line and go when it answers
	}
	rule := textRuleStrict
	if f.cfg.OtherAgencySuccess {
		rule = textRuleOtherAgency
	}
	b.Add("Cách tính thành công", rule)
	return b
}
