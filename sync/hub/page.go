package hub

import (
	"embed"
	"fmt"
	"html/template"
	"motcua-agent/config/vocab"
	"net/http"
	"net/url"
	"time"
)

//go:embed page/hub.html
var pageFiles embed.FS

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
	"offset": func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		if d > -2*time.Second && d < 2*time.Second {
			return "đúng giờ"
		}
		if d < 0 {
			return "chậm " + (-d).Round(time.Second).String()
		}
		return "nhanh " + d.Round(time.Second).String()
	},
}).ParseFS(pageFiles, "page/hub.html"))

type pageData struct {
	Period    Period
	Filter    Filter
	By        string
	Report    Report
	Services  ServiceTable
	Fleet     []FleetAgent
	FleetShut bool // no report token: the fleet is not shown
	Now       time.Time
	Error     string
	Query     string
	Token     string
	Contact   func(*time.Time) string
	Stale     func(*time.Time) bool
	PeriodKey string
}

// servePage renders the Vietnamese page: the totals, the table of essential services
// and the fleet, with links to the CSV and JSON exports.
func (h *Hub) servePage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Filter: filterFromForm(r), By: r.URL.Query().Get("by"), Now: h.now().In(h.loc)}
	if d.By == "" {
		d.By = "site"
	}
	d.Contact = func(t *time.Time) string {
		if t == nil {
			return "chưa bao giờ"
		}
		ago := d.Now.Sub(*t).Round(time.Second)
		return fmt.Sprintf("%s (%s trước)", t.In(h.loc).Format("02/01/2006 15:04"), ago)
	}
	d.Stale = func(t *time.Time) bool { return t == nil || d.Now.Sub(*t) > staleAfter }
	var err error
	d.Period, err = h.periodFromForm(r)
	if err == nil {
		d.Report, err = h.Totals(r.Context(), Query{Period: d.Period, By: []string{d.By, "metric"}, Filter: d.Filter})
	}
	if err == nil {
		d.Services, err = h.Services(r.Context(), d.Period, d.Filter)
	}
	d.FleetShut = !h.fleet
	if err == nil && h.fleet {
		d.Fleet, err = h.Fleet(r.Context(), d.Filter)
	}
	if err != nil {
		d.Error = err.Error()
	}
	q := url.Values{}
	q.Set("period", d.Period.Kind)
	q.Set("at", d.Period.Label)
	for k, v := range map[string]string{"province": d.Filter.Province, "commune": d.Filter.Commune, "site": d.Filter.Site,
		"counter": d.Filter.Counter, "service": d.Filter.Service, "metric": d.Filter.Metric} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if t := r.URL.Query().Get("token"); t != "" {
		q.Set("token", t) // keep the form and the export links working behind the report token
		d.Token = t
	}
	d.Query = q.Encode()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, d); err != nil {
		h.log.Warn("render hub page", "err", err)
	}
}

// staleAfter is how long without contact before the fleet view marks an agent: agents
// push every minute, so a quarter of an hour means the PC or its network is down.
const staleAfter = 15 * time.Minute

func metricName(m string) string {
	if l := vocab.Label(m); l != m {
		return l + " (" + m + ")"
	}
	return m
}
