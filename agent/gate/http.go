package gate

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
)

//go:embed static/lane.html
var pages embed.FS

// LaneStatus is one lane on the dashboard and the lane page.
type LaneStatus struct {
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Direction string    `json:"direction"`
	Relay     string    `json:"relay"` // ok, fault or none
	Last      *Decision `json:"last,omitempty"`
}

// Today is the day's gate counters.
type Today struct {
	Day           string           `json:"day"`
	Entries       int64            `json:"entries"`
	Exits         int64            `json:"exits"`
	Unique        int64            `json:"unique_visitors"`
	Peak          int64            `json:"peak_occupancy"`
	Reconciled    int64            `json:"reconciled"`
	Refusals      map[string]int64 `json:"refusals"`
	EntriesByHour map[string]int64 `json:"entries_by_hour"`
	ExitsByHour   map[string]int64 `json:"exits_by_hour"`
}

// Status is the gate as staff see it.
type Status struct {
	Occupancy int          `json:"occupancy"`
	Capacity  int          `json:"capacity"`
	Reserve   int          `json:"reserve"`
	SiteState string       `json:"site_state"`
	Lanes     []LaneStatus `json:"lanes"`
	Today     Today        `json:"today"`
}

// Status reads the live state and today's counters.
func (g *Gate) Status(ctx context.Context) (Status, error) {
	g.mu.Lock()
	s := Status{Occupancy: len(g.inside), Capacity: g.cfg.Capacity, Reserve: g.cfg.Reserve, SiteState: g.stateAt(g.now())}
	for _, name := range g.order {
		l := g.lanes[name]
		ls := LaneStatus{Name: name, Title: l.cfg.Title, Direction: l.cfg.Direction, Relay: "none"}
		if l.last != nil {
			d := *l.last
			ls.Last = &d
		}
		s.Lanes = append(s.Lanes, ls)
	}
	g.mu.Unlock()
	for i := range s.Lanes {
		if r := g.lanes[s.Lanes[i].Name].relay; r != nil {
			s.Lanes[i].Relay = "ok"
			if !r.Status().OK {
				s.Lanes[i].Relay = "fault"
			}
		}
	}
	day, err := g.st.TallyDay(ctx, g.now())
	if err != nil {
		return s, err
	}
	s.Today = Today{Day: day.Day,
		Entries: day.Total(MetricEntries), EntriesByHour: day.By("hour", MetricEntries),
		Exits: day.Total(MetricExits, MetricExitsUnmatched), ExitsByHour: day.By("hour", MetricExits, MetricExitsUnmatched),
		Unique: day.Total(MetricUniqueVisitors), Peak: day.Peak(MetricPeakOccupancy),
		Reconciled: day.Total(MetricReconciled), Refusals: day.By("reason", MetricRefusals)}
	return s, nil
}

var siteStateVI = map[string]string{SiteOpen: "Đang mở cửa", SiteFull: "Đã đủ khách (tạm dừng cho vào)", SiteClosed: "Đã đóng cửa"}

var reasonVI = map[string]string{ReasonAlreadyInside: "đã ở trong khu", ReasonFull: "hết chỗ", ReasonClosed: "đã đóng cửa",
	ReasonUnreadable: "mã không đọc được", ReasonNotAllowed: "sai loại mã", ReasonLaneFault: "lối gặp sự cố",
	ReasonStoreFault: "lỗi hệ thống"}

// dashboardBlock is the gate's block on the dashboard, in Vietnamese.
func (g *Gate) dashboardBlock(ctx context.Context) web.Block {
	s, err := g.Status(ctx)
	if err != nil {
		g.log.Warn("gate: dashboard figures", "err", err)
		return web.FaultBlock(textDashTitle, "Không đọc được số liệu cổng.")
	}
	b := web.Block{Title: textDashTitle}
	occ := vocab.Number(int64(s.Occupancy))
	if s.Capacity > 0 {
		occ += fmt.Sprintf(" / %s (dừng quét ở %s)", vocab.Number(int64(s.Capacity)), vocab.Number(int64(s.Capacity-s.Reserve)))
	}
	b.Add("Khách đang trong khu", occ)
	b.Add("Trạng thái khu", siteStateVI[s.SiteState])
	if s.SiteState != SiteOpen {
		b.Warn()
	}
	b.AddNumber("Lượt vào hôm nay", s.Today.Entries)
	b.AddNumber("Lượt ra hôm nay", s.Today.Exits)
	b.AddNumber("Khách (không trùng) hôm nay", s.Today.Unique)
	b.AddNumber("Đông nhất hôm nay", s.Today.Peak)
	b.AddNumber("Chốt cuối ngày (không quét ra)", s.Today.Reconciled)
	b.Add("Lượt vào theo giờ", cmp.Or(byHour(s.Today.EntriesByHour), "không có"))
	b.Add("Lượt ra theo giờ", cmp.Or(byHour(s.Today.ExitsByHour), "không có"))
	var refusals []string
	for r, n := range s.Today.Refusals {
		refusals = append(refusals, fmt.Sprintf("%s: %s", reasonVI[r], vocab.Number(n)))
	}
	sort.Strings(refusals)
	b.Add("Từ chối hôm nay", cmp.Or(strings.Join(refusals, ", "), "không có"))
	for _, l := range s.Lanes {
		b.Add(l.Title, map[string]string{"ok": "rơ-le hoạt động tốt", "fault": "RƠ-LE LỖI: lối đang từ chối khách", "none": "không có rơ-le"}[l.Relay])
		if l.Relay == "fault" {
			b.Fault()
		}
	}
	return b
}

// textDashTitle is the gate's card title on the dashboard.
const textDashTitle = "Cổng tham quan"

func byHour(m map[string]int64) string {
	hours := make([]string, 0, len(m))
	for h := range m {
		hours = append(hours, h)
	}
	sort.Strings(hours)
	parts := make([]string, len(hours))
	for i, h := range hours {
		parts[i] = fmt.Sprintf("%sh: %d", h, m[h])
	}
	return strings.Join(parts, " · ")
}

// Register adds the gate's API, lane page, dashboard block and metric labels.
func (g *Gate) Register(w *web.Server) {
	w.HandleFunc("GET /gate/lane", web.ServeFile(pages, "static/lane.html"))
	w.HandleFunc("GET /api/v1/gate", func(rw http.ResponseWriter, r *http.Request) {
		s, err := g.Status(r.Context())
		if err != nil {
			web.WriteError(rw, http.StatusInternalServerError, err.Error(), "Không đọc được số liệu cổng.")
			return
		}
		web.WriteJSON(rw, http.StatusOK, s)
	}, web.RoleCounter, web.RoleDisplay)
	w.HandleFunc("POST /api/v1/gate/lanes/{lane}/open", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ Who, Why string }
		if !web.ReadJSON(rw, r, &body) {
			return
		}
		g.answer(rw, g.OpenLane(r.Context(), r.PathValue("lane"), strings.TrimSpace(body.Who), strings.TrimSpace(body.Why)))
	}, web.RoleCounter)
	w.HandleFunc("POST /api/v1/gate/site", func(rw http.ResponseWriter, r *http.Request) {
		var body struct{ State, Who, Why string }
		if !web.ReadJSON(rw, r, &body) {
			return
		}
		g.answer(rw, g.SetSite(r.Context(), body.State, strings.TrimSpace(body.Who), strings.TrimSpace(body.Why)))
	}, web.RoleCounter)
	w.AddStatus("gate", g.dashboardBlock)
	for _, name := range g.order {
		w.AddPage(web.Page{Path: "/gate/lane?lane=" + url.QueryEscape(name), Title: "Màn hình " + g.lanes[name].cfg.Title, Role: web.RoleDisplay})
	}
}

func (g *Gate) answer(rw http.ResponseWriter, err error) {
	switch {
	case err == nil:
		web.WriteJSON(rw, http.StatusOK, map[string]any{"ok": true})
	case errors.Is(err, ErrBadRequest):
		web.WriteError(rw, http.StatusBadRequest, err.Error(), "Vui lòng ghi rõ người thực hiện, lý do và lối/trạng thái hợp lệ.")
	default:
		web.WriteFailure(rw, err, http.StatusBadGateway, "Không thực hiện được: cổng hoặc hệ thống đang gặp sự cố.")
	}
}
