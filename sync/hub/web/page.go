package web

import (
	"cmp"
	"context"
	"embed"
	"html/template"
	"motcua-agent/sync/upload"
	"net/http"
	"net/url"
	"strings"
	"time"

	"motcua-agent/config/vocab"
)

//go:embed page/hub.html page/hub.css page/hub.js
var pageFiles embed.FS

var pageCSS, pageJS = func() (template.CSS, template.JS) {
	css, err := pageFiles.ReadFile("page/hub.css")
	if err != nil {
		panic(err)
	}
	js, err := pageFiles.ReadFile("page/hub.js")
	if err != nil {
		panic(err)
	}
	return template.CSS(css), template.JS(js)
}()

var pageTemplate = template.Must(template.New("hub.html").Funcs(template.FuncMap{
	"stateClass": func(s string) string {
		switch s {
		case "ok":
			return "ok"
		case "degraded":
			return "warn"
		case "fault":
			return "bad"
		}
		return "off"
	},
	"stateText": func(s string) string {
		switch s {
		case "ok":
			return "bình thường"
		case "degraded":
			return "suy giảm"
		case "fault":
			return "lỗi"
		case "absent":
			return "không có"
		}
		return s
	},
	"metricName": metricName,
	"num":        vocab.Number,
	"pct":        vocab.Decimal,
	"fig":        func(f figures, m string) string { return vocab.Number(f[m]) },
	"offset": func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		if d > -2*time.Second && d < 2*time.Second {
			return "đúng giờ"
		}
		if d < 0 {
			return "chậm " + vocab.Duration(-d)
		}
		return "nhanh " + vocab.Duration(d)
	},
	"siteLabel": siteLabel,
	"lower":     strings.ToLower,
	"day":       vocab.Day,
}).ParseFS(pageFiles, "page/hub.html"))

// figureRow is one line of the table of every figure.
type figureRow struct{ Label, Value string }

// staleSite is a site that stopped reporting.
type staleSite struct{ Label, Commune, Province, Note string }

// bhytSummary is the clinics' use of the chip ID card for health-insurance look-ups.
type bhytSummary struct {
	Lookups, OK, Failures int64
	Share                 float64 // OK / Lookups in percent
	// OtherAgency are the answers 001/002 (cards of the Ministry of Defence's and the
	// Police's social insurance), OtherAgencyOK those the sites counted as successes;
	// Rule says in words which rule the figures above applied.
	OtherAgency, OtherAgencyOK int64
	Rule                       string
}

type pageData struct {
	CSS       template.CSS
	JS        template.JS
	Now       time.Time
	Period    Period
	PeriodVI  string
	Choices   []periodGroup
	Filter    Filter
	Crumbs    []crumb
	Drill     drill
	Columns   []string
	Charts    []dayChart
	Stale     []staleSite
	Figures   []figureRow
	Services  ServiceTable
	BHYT      bhytSummary
	Fleet     []FleetAgent
	Rollouts  []RolloutView
	FleetShut bool // no report token: the fleet is not shown
	Upstream  *upstreamView
	Provinces []string
	Communes  []string
	Sites     []Place
	Error     string
	Exports   []exportLink // the monthly table's downloads
	// FigureExports are the downloads of the table of every figure.
	FigureExports []exportLink
	FleetJSON     string // the fleet's download
	Token         string
	Contact       func(*time.Time) string
	Stalled       func(*time.Time) bool
}

// ServePage renders the statisticians' page: the drill-down from province to counter,
// the charts of the last weeks, the sites that stopped reporting, every figure of the
// period, the monthly table of essential services with its exports, and the fleet.
func (h *Face) ServePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := filterFromForm(r)
	f.Service, f.Metric = "", "" // the page drills by place; the API filters by service and metric
	d := pageData{CSS: pageCSS, JS: pageJS, Filter: f, Now: h.now().In(h.loc), Token: r.URL.Query().Get("token"), Columns: drillColumns}
	d.Contact = func(t *time.Time) string {
		if t == nil {
			return "chưa bao giờ"
		}
		return t.In(h.loc).Format("02/01/2006 15:04") + " (" + agoVI(d.Now.Sub(*t)) + ")"
	}
	d.Stalled = func(t *time.Time) bool { return t == nil || d.Now.Sub(*t) > SilentAfter }
	var err error
	d.Period, err = h.periodFromForm(r)
	if err != nil {
		d.Error = "Kỳ báo cáo không hợp lệ; đang hiện số liệu tháng này."
		d.Period, _ = ParsePeriod("month", d.Now.Format("2006-01"))
	}
	d.PeriodVI = periodVI(d.Period)
	d.Choices = groupChoices(periodChoices(d.Now, d.Period))
	if err := h.fillPage(ctx, &d); err != nil {
		h.log.Warn("hub page: read figures", "err", err)
		d.Error = strings.TrimSpace(d.Error + " Không đọc được số liệu từ cơ sở dữ liệu của máy chủ; hãy báo bộ phận công nghệ thông tin.")
	}
	d.Exports, d.FigureExports, d.FleetJSON = exportLinks(d.Period, f, d.Token)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, d); err != nil {
		h.log.Warn("render hub page", "err", err)
	}
}

func (h *Face) fillPage(ctx context.Context, d *pageData) error {
	places, err := h.Places(ctx)
	if err != nil {
		return err
	}
	f := d.Filter
	link := pageLink{period: d.Period, token: d.Token}
	stale := map[string]string{}
	seenP, seenC := map[string]bool{}, map[string]bool{}
	siteName := ""
	for _, p := range places {
		if p.Province != "" && !seenP[p.Province] {
			seenP[p.Province] = true
			d.Provinces = append(d.Provinces, p.Province)
		}
		if f.Province != "" && p.Province != f.Province || p.Reported && f.Province == "" {
			continue // a national hub lists a province's communes and sites once it is chosen
		}
		if p.Commune != "" && !seenC[p.Commune] {
			seenC[p.Commune] = true
			d.Communes = append(d.Communes, p.Commune)
		}
		if f.Commune != "" && p.Commune != f.Commune {
			continue
		}
		d.Sites = append(d.Sites, p)
		if p.Site == f.Site {
			siteName = p.Name
		}
		if f.Site != "" && p.Site != f.Site || p.Devices == 0 {
			continue
		}
		if note := staleNote(p.LastContact, d.Now, h.stale, h.loc); note != "" {
			stale[p.Site] = note
			d.Stale = append(d.Stale, staleSite{Label: siteLabel(p.Site, p.Name), Commune: p.Commune, Province: p.Province, Note: note})
		}
	}
	d.Crumbs = breadcrumb(f, link, siteName)
	if d.Drill, err = h.buildDrill(ctx, d.Period, f, places, link, stale); err != nil {
		return err
	}
	if d.Charts, err = h.buildCharts(ctx, f); err != nil {
		return err
	}
	all, err := h.PeriodSums(ctx, d.Period, f)
	if err != nil {
		return err
	}
	for _, fv := range figureTable(all) {
		d.Figures = append(d.Figures, figureRow{fv.Label, fv.Text})
	}
	d.BHYT = bhytOf(all)
	if d.Services, err = h.Services(ctx, d.Period, f); err != nil {
		return err
	}
	d.FleetShut = !h.fleet
	if h.fleet {
		if d.Fleet, err = h.Fleet(ctx, Filter{Province: f.Province, Commune: f.Commune, Site: f.Site}); err != nil {
			return err
		}
		if d.Rollouts, err = h.RolloutViews(ctx); err != nil {
			return err
		}
		if st, ok, err := h.UpstreamStatus(ctx); err != nil {
			return err
		} else if ok {
			d.Upstream = newUpstreamView(st, d.Now, h.loc)
		}
	}
	return nil
}

// exportLink is one download of the page: a whole address, built as a URL (the
// template would escape a query written into an href as text: "?at%3d…", and the token
// and the place chosen would never reach the server).
type exportLink struct{ Label, URL string }

// exportLinks are the page's downloads for a period and a place, each keeping the
// report token, so they open as the page did.
func exportLinks(p Period, f Filter, token string) (services, all []exportLink, fleet string) {
	link := func(path, format string) string {
		q := placeQuery(p, f, token)
		if format != "" {
			q.Set("format", format)
		}
		return (&url.URL{Path: path, RawQuery: q.Encode()}).String()
	}
	for _, path := range []string{"/api/v1/report/services", "/api/v1/report/figures"} {
		links := []exportLink{{"Excel (XLSX)", link(path, "xlsx")}, {"CSV", link(path, "csv")}, {"JSON", link(path, "")}}
		if services == nil {
			services = links
		} else {
			all = links
		}
	}
	// The fleet is now, not a period, and lists devices, not counters.
	q := placeQuery(Period{}, Filter{Province: f.Province, Commune: f.Commune, Site: f.Site}, token)
	return services, all, (&url.URL{Path: "/api/v1/fleet", RawQuery: q.Encode()}).String()
}

// upstreamView is what the page says of the pushes to the national hub, shown beside
// the fleet (it names the national hub, so only to those who may see the fleet).
type upstreamView struct {
	Hub, Device, LastSuccess, Error string
	Backlog                         int64
	Failing                         bool
}

func newUpstreamView(st upload.Status, now time.Time, loc *time.Location) *upstreamView {
	v := &upstreamView{Hub: st.Hub, Device: st.Device, Backlog: st.Backlog, LastSuccess: "chưa lần nào"}
	if !st.LastSuccess.IsZero() {
		v.LastSuccess = st.LastSuccess.In(loc).Format("02/01/2006 15:04") + " (" + agoVI(now.Sub(st.LastSuccess)) + ")"
	}
	if st.Failures > 0 {
		v.Failing = true
		v.Error = cmp.Or(st.LastErrorVi, st.LastError)
	}
	return v
}

// SilentAfter is how long without contact before the fleet view marks an agent: agents
// push every minute, so a quarter of an hour means the PC or its network is down.
const SilentAfter = 15 * time.Minute

// periodGroup is the months, the weeks or the days of the period list.
type periodGroup struct {
	Label   string
	Choices []periodChoice
}

func groupChoices(choices []periodChoice) []periodGroup {
	var out []periodGroup
	for _, g := range []struct{ kind, label string }{{"month", "Tháng"}, {"week", "Tuần"}, {"day", "Ngày"}} {
		grp := periodGroup{Label: g.label}
		for _, c := range choices {
			if strings.HasPrefix(c.Value, g.kind+":") {
				grp.Choices = append(grp.Choices, c)
			}
		}
		out = append(out, grp)
	}
	return out
}
