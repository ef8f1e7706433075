package queue

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"motcua-agent/agent/web"
	"motcua-agent/internal/browsertest"
	"motcua-agent/internal/netguard/netguardtest"
)

// issueFrom asks for a ticket with the kiosk token from a loopback alias standing in
// for one LAN machine; it returns the status, the Vietnamese message and Retry-After.
func (s *testServer) issueFrom(t *testing.T, ip string) (int, string, string) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, _ := http.NewRequest("POST", s.base+"/api/v1/tickets", strings.NewReader(`{"service":"A"}`))
	req.Header.Set("Authorization", "Bearer "+testTokens[web.RoleKiosk])
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Message, resp.Header.Get("Retry-After")
}

// TestKioskTokenCannotRunDownTheDay: the kiosk token used as fast as a script can from
// LAN machines gets 30 tickets for all of them together, then a 429 with a Vietnamese
// message the kiosk page shows; this PC's own kiosk keeps its own allowance, larger
// than any real morning rush at one kiosk; time gives the allowance back.
func TestKioskTokenCannotRunDownTheDay(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	s := startServer(t, nil)
	issued := 0
	until429 := func(ip string, most int) (int, string, string) {
		t.Helper()
		for n := 0; ; n++ {
			code, msg, retry := s.issueFrom(t, ip)
			if code != http.StatusCreated {
				if code != http.StatusTooManyRequests {
					t.Fatalf("%s: ticket %d: %d %s", ip, n+1, code, msg)
				}
				return n, msg, retry
			}
			if issued++; n == most {
				t.Fatalf("%s: %d tickets and no refusal", ip, n+1)
			}
		}
	}
	n, msg, retry := until429("127.0.0.2", 100)
	if n != web.TicketRates.Shared.Burst {
		t.Fatalf("a LAN machine got %d tickets before a refusal, want %d", n, web.TicketRates.Shared.Burst)
	}
	if msg != web.TicketRates.Message || retry != "2" {
		t.Fatalf("refusal: %q, Retry-After %q", msg, retry)
	}
	// Another LAN address shares the same allowance: nothing left.
	if n, _, _ := until429("127.0.0.3", 100); n != 0 {
		t.Fatalf("a second LAN machine got %d more tickets", n)
	}
	// This PC's own kiosk page is not held by the flood.
	if n, _, _ := until429("127.0.0.1", 200); n != web.TicketRates.PerClient.Burst {
		t.Fatalf("this PC got %d tickets, want %d", n, web.TicketRates.PerClient.Burst)
	}
	s.clk.Add(web.TicketRates.Shared.Every)
	if code, msg, _ := s.issueFrom(t, "127.0.0.3"); code != http.StatusCreated {
		t.Fatalf("after the wait: %d %s", code, msg)
	}
	issued++
	if got := len(s.q.Snapshot().Waiting); got != issued {
		t.Fatalf("%d tickets waiting, %d answered 201", got, issued)
	}
}

// TestKioskShowsTheRefusal: when this PC's kiosk has used its allowance, a tap on a
// service shows the Vietnamese refusal on the kiosk page (and it stays after the page
// reloads its services), and no ticket is issued.
func TestKioskShowsTheRefusal(t *testing.T) {
	browsertest.Path(t)
	s := startServer(t, nil)
	for i := range web.TicketRates.PerClient.Burst {
		if code := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, nil); code != http.StatusCreated {
			t.Fatalf("ticket %d: %d", i+1, code)
		}
	}
	ctx := browsertest.Tab(t, browsertest.Headless(t, chromedp.WindowSize(1280, 900)))
	browsertest.Do(t, ctx, "kiosk", chromedp.Navigate(s.base+"/kiosk?token="+testTokens[web.RoleKiosk]),
		browsertest.Click(`button[data-service="A"]`),
		chromedp.WaitVisible(chromedp.CSS("#issue-error")), chromedp.Sleep(300*time.Millisecond))
	if got := browsertest.TextContent(t, ctx, "#err"); got != web.TicketRates.Message {
		browsertest.Screenshot(t, ctx, "failed-kiosk-refusal")
		t.Fatalf("kiosk shows %q, want %q", got, web.TicketRates.Message)
	}
	browsertest.Screenshot(t, ctx, "kiosk-too-many-requests")
	if got := len(s.q.Snapshot().Waiting); got != web.TicketRates.PerClient.Burst {
		t.Fatalf("%d tickets issued", got)
	}
}

// TestIssueRefusesALongStation: the kiosk's station is a reader's counter name; a long
// one is refused and issues nothing.
func TestIssueRefusesALongStation(t *testing.T) {
	s := startServer(t, nil)
	var out struct{ Message string }
	if code := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A", "station": strings.Repeat("k", 65)}, &out); code != http.StatusBadRequest || out.Message != "Yêu cầu không hợp lệ." {
		t.Fatalf("long station: %d %q", code, out.Message)
	}
	if n := len(s.q.Snapshot().Waiting); n != 0 {
		t.Fatalf("%d tickets issued", n)
	}
}
