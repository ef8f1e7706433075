package web

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config/vocab"
)

//go:embed static
var staticFS embed.FS

func (s *Server) routes() {
	sub, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(sub))))
	s.HandleFunc("GET /{$}", s.page("dashboard.html"))
	s.HandleFunc("GET /dashboard", s.page("dashboard.html"))
	s.HandleFunc("GET /healthz", s.healthz)
	s.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.opts.Metrics.WriteText(w)
	})
	s.HandleFunc("GET /api/v1/dashboard", s.dashboard, RoleCounter, RoleDisplay)
	s.HandleFunc("GET /api/v1/counters", s.counters, RoleCounter)
	s.HandleFunc("GET /api/v1/events", s.events, RoleAdmin)
	s.HandleFunc("GET /api/v1/stream", s.stream, RoleKiosk, RoleCounter, RoleDisplay)
	s.HandleFunc("GET /api/v1/pages", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		WriteJSON(w, http.StatusOK, s.pages)
	})
	s.AddPage(Page{Path: "/", Title: "Bảng điều khiển", Role: RoleAdmin})
}

func (s *Server) page(name string) http.HandlerFunc { return ServeFile(staticFS, "static/"+name) }

// ServeFile serves one embedded page, script or stylesheet by its name's extension,
// never cached (a new agent's pages reach every screen at their next load). It is the
// one way the flows serve their pages.
func ServeFile(fsys fs.FS, name string) http.HandlerFunc {
	ctype := "text/html; charset=utf-8"
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	storeState := "ok"
	last, err := s.opts.Store.LastSeq(ctx)
	var storeMessage string
	if err != nil {
		status, code, storeState = "fault", http.StatusServiceUnavailable, err.Error()
	} else if f := s.opts.Store.Fault(); f != nil {
		status, code, storeState, storeMessage = "fault", http.StatusServiceUnavailable, f.Kind, f.Message()
	} else if s.opts.Health.Worst() != health.OK {
		status = "degraded"
	}
	var reset any
	if aside, at, ok := s.opts.Store.Reset(); ok {
		reset = map[string]any{"at": at, "moved_to": aside,
			"message": "Sổ ghi bị hỏng và đã được làm mới lúc " + at.In(s.opts.Store.Location()).Format("15:04 02/01/2006") +
				"; bản cũ được giữ lại để gửi phần còn đọc được lên tỉnh."}
	}
	WriteJSON(w, code, map[string]any{
		"status":         status,
		"version":        s.opts.Version,
		"config_version": s.opts.Config.HubVersion(), // the hub's configuration over the site file ("" none)
		"site":           s.opts.Config.Site.ID,
		"device":         s.opts.Config.Site.DeviceID,
		"uptime_s":       int64(s.opts.Now().Sub(s.started).Seconds()),
		"store":          storeState,
		"store_message":  storeMessage,
		"store_reset":    reset,
		"last_seq":       last,
		"devices":        s.opts.Health.List(),
	})
}

// dashboardOrder is the order of the dashboard's rows of figures.
var dashboardOrder = []string{
	vocab.TicketsIssued, vocab.TicketsFirstCalls, vocab.TicketsServed, vocab.TicketsNoShow, vocab.TicketsCancelled,
	vocab.TicketsTransferred, vocab.TicketsRecalls, vocab.TicketsWaitSeconds, vocab.TicketsServiceSeconds,
	vocab.TicketsUnprinted,
	vocab.DossiersReceived, vocab.DossiersDigitized, vocab.DossiersPages,
	vocab.Checkins, vocab.CheckinsPeople, vocab.IdentityVerifications, vocab.IdentityPeople, vocab.Scans,
	vocab.BHYTLookups, vocab.BHYTLookupsOK, vocab.BHYTLookupFailures, vocab.BHYTLookupsOtherAgency,
	vocab.LodgingListed, vocab.LodgingNotified, vocab.LodgingMissed,
	vocab.GateEntries, vocab.GateExits, vocab.GateExitsUnmatched, vocab.GateUniqueVisitors, vocab.GatePeakOccupancy,
	vocab.GateRefusals, vocab.GateReconciled, vocab.GateManualOpens,
}

type counterView struct {
	Metric string            `json:"metric"`
	Label  string            `json:"label"`
	Dims   map[string]string `json:"dims,omitempty"`
	Value  int64             `json:"value"`
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	day := s.opts.Store.Day(now)
	rows, err := s.opts.Store.Counters(r.Context(), day)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error(), "Không đọc được số liệu.")
		return
	}
	counters := make([]counterView, 0, len(rows))
	for _, c := range rows {
		counters = append(counters, counterView{Metric: c.Metric, Label: vocab.Label(c.Metric), Dims: c.Dims, Value: c.Value})
	}
	// A deliberate order for the office head (the queue, then dossiers, then who came),
	// not the byte order of names; metrics not listed follow in name order.
	rank := map[string]int{}
	for i, name := range dashboardOrder {
		rank[name] = i + 1
	}
	sort.SliceStable(counters, func(i, j int) bool {
		ri, rj := rank[counters[i].Metric], rank[counters[j].Metric]
		if ri == 0 || rj == 0 {
			if (ri == 0) != (rj == 0) {
				return ri != 0
			}
			return counters[i].Metric < counters[j].Metric
		}
		return ri < rj
	})
	s.mu.Lock()
	fns := make(map[string]StatusFunc, len(s.status))
	for k, f := range s.status {
		fns[k] = f
	}
	pages := append([]Page(nil), s.pages...)
	s.mu.Unlock()
	status := make(map[string]Block, len(fns))
	for k, f := range fns {
		b := f(r.Context())
		if b.Rows == nil {
			b.Rows = []Row{}
		}
		if b.State == "" {
			b.State = BlockOK
		}
		status[k] = b
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"site":     s.opts.Config.Site,
		"version":  s.opts.Version,
		"time":     now,
		"day":      day,
		"uptime_s": int64(now.Sub(s.started).Seconds()),
		"health":   s.opts.Health.Worst(),
		"devices":  s.opts.Health.List(),
		"counters": counters,
		"names":    s.opts.Config.Names(), // kind → code → name: pages show names, codes beside them
		"status":   status,
		"pages":    pages,
	})
}

func (s *Server) counters(w http.ResponseWriter, r *http.Request) {
	day := r.URL.Query().Get("day")
	if day == "" {
		day = s.opts.Store.Day(s.opts.Now())
	} else if _, err := time.Parse("2006-01-02", day); err != nil {
		WriteError(w, http.StatusBadRequest, "day must be YYYY-MM-DD", "Ngày phải có dạng YYYY-MM-DD.")
		return
	}
	rows, err := s.opts.Store.Counters(r.Context(), day)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error(), "Không đọc được số liệu.")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"day": day, "counters": rows})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	evs, err := s.opts.Store.Events(r.Context(), store.EventFilter{AfterSeq: since, Limit: 500})
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error(), "Không đọc được nhật ký.")
		return
	}
	WriteJSON(w, http.StatusOK, evs)
}

// stream sends bus messages as server-sent events. A message's personal part goes only
// to roles the config allows, its linkable part never to a screen facing the public.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, "streaming unsupported", "Không hỗ trợ luồng sự kiện.")
		return
	}
	var topics []string
	if t := r.URL.Query().Get("topics"); t != "" {
		topics = strings.Split(t, ",")
	}
	role := RoleOf(r)
	personal := s.MayReceivePersonal(role) && !anonymousRole(role)
	linkable := !anonymousRole(role)
	sub := s.opts.Bus.Subscribe(256, topics...)
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": motcua-agent stream\n\n")
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprintf(w, ": ping\n\n")
			fl.Flush()
		case m, ok := <-sub.C:
			if !ok {
				return
			}
			writeEvent(w, m, personal, linkable)
			fl.Flush()
		}
	}
}

func writeEvent(w http.ResponseWriter, m bus.Message, personal, linkable bool) {
	if !personal {
		m.Personal = nil
	}
	if !linkable {
		m.Linkable = nil
	}
	b, _ := json.Marshal(m)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.Topic, b)
}
