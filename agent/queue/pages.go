package queue

import (
	"embed"
	"net/http"
	"net/url"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/agent/web"
	"motcua-agent/drivers/display"
)

//go:embed pages/*.html pages/*.css pages/*.js
var pageFS embed.FS

// PageOptions configure the queue's pages.
type PageOptions struct {
	// Voice turns the call-out on the display board on.
	Voice bool
	// Counters are the configured counters' ids: each gets its console in the menu.
	Counters []string
	// Health gets the display boards' sound state (the dashboard's "board-sound").
	Health *health.Registry
	Now    func() time.Time
	// Ratings lists each counter's rating tablet page in the menu.
	Ratings bool
	// Officers lists the officers' report in the menu (the site has a staff list).
	Officers bool
}

// RegisterPages adds the kiosk, counter console, display board and ticket status pages
// and the voice clips they play. The pages themselves are public; what they do needs
// the role token given once in their address (?token=…).
func RegisterPages(s *web.Server, o PageOptions) {
	for path, file := range map[string]string{"/kiosk": "kiosk.html", "/counter": "counter.html",
		"/display": "display.html", "/ticket": "ticket.html", "/rate": "rate.html", "/officers": "officers.html", "/queue/queue.css": "queue.css", "/queue/queue.js": "queue.js"} {
		s.HandleFunc("GET "+path, web.ServeFile(pageFS, "pages/"+file))
	}
	s.HandleFunc("GET /voice/{clip}", func(w http.ResponseWriter, r *http.Request) {
		if !o.Voice {
			http.NotFound(w, r)
			return
		}
		name := r.PathValue("clip")
		if len(name) < 5 || name[len(name)-4:] != ".wav" {
			http.NotFound(w, r)
			return
		}
		b, err := display.Clip(r.Context(), name[:len(name)-4])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Write(b)
	})
	newBoardSound(o.Health, o.Now).register(s)
	s.AddPage(web.Page{Path: "/kiosk", Title: "Lấy số thứ tự", Role: web.RoleKiosk})
	for _, c := range o.Counters {
		s.AddPage(web.Page{Path: "/counter?counter=" + url.QueryEscape(c), Title: "Quầy " + c + ": gọi số", Role: web.RoleCounter})
	}
	s.AddPage(web.Page{Path: "/display", Title: "Màn hình gọi số", Role: web.RoleDisplay})
	if o.Officers {
		s.AddPage(web.Page{Path: "/officers", Title: "Báo cáo theo cán bộ", Role: web.RoleAdmin})
	}
	if o.Ratings {
		for _, c := range o.Counters {
			s.AddPage(web.Page{Path: "/rate?counter=" + url.QueryEscape(c), Title: "Quầy " + c + ": đánh giá hài lòng", Role: web.RoleRating})
		}
	}
}
