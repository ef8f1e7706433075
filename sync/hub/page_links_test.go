package hub

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPageDownloadsOpenAsThePageDid opens the page as the guide says (with ?token= and a
// place chosen), follows every download link as a browser resolves it, and checks each
// answers with the figures of that place: the token and the choice reach the server.
func TestPageDownloadsOpenAsThePageDid(t *testing.T) {
	t.Parallel()
	const token = "bí-mật token&x=1"
	th, _ := seedStats(t, func(o *Options) { o.ReportToken = token })
	base, _ := url.Parse(th.srv.URL + "/")
	q := url.Values{"token": {token}, "period": {"month"}, "at": {"2026-11"}, "province": {"Nghệ An"}, "commune": {"Phường Vinh Hưng"}, "site": {"VH-1"}}
	page := getPage(t, th, q.Encode())
	hrefs := regexp.MustCompile(`<a href="([^"]*)">([^<]*)</a>`).FindAllStringSubmatch(page, -1)
	got := map[string]*url.URL{}
	for _, m := range hrefs {
		u, err := base.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("link %q: %v", m[1], err)
		}
		if strings.HasPrefix(u.Path, "/api/") {
			got[u.Path+" "+m[2]] = u
		}
	}
	want := []string{"/api/v1/report/services Excel (XLSX)", "/api/v1/report/services CSV", "/api/v1/report/services JSON", "/api/v1/fleet JSON"}
	for _, k := range want {
		u := got[k]
		if u == nil {
			t.Fatalf("no download %q on the page; links: %v", k, hrefs)
		}
		v := u.Query()
		if v.Get("token") != token || v.Get("site") != "VH-1" || v.Get("commune") != "Phường Vinh Hưng" {
			t.Errorf("%s: the link %s lost the token or the place: %v", k, u, v)
		}
		resp, err := http.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", k, resp.StatusCode, body)
		}
		if k == "/api/v1/report/services JSON" {
			var rep ServiceTable
			if err := json.Unmarshal(body, &rep); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			// VH-1 alone received 30 dossiers in November; the province had more.
			if rep.Total.Received != 30 {
				t.Errorf("%s: received %d, want VH-1's 30 (the place chosen did not reach the server)", k, rep.Total.Received)
			}
		}
	}
	// Without the token the same link is refused: the token is what opened it.
	u := got["/api/v1/report/services CSV"]
	v := u.Query()
	v.Del("token")
	u.RawQuery = v.Encode()
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", resp.StatusCode)
	}
}
