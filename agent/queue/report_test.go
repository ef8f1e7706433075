package queue

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/agent/web"
)

// The office head's report: tickets per hour drawn from the day's tickets, a CSV of the
// day that says what each ticket became, and the printer's faults with their times.
func TestDayReportAndCSV(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	s := startServer(t, func(ctx context.Context, sl Slip) error {
		if fail.Load() {
			return errors.New("printer: out of paper")
		}
		return nil
	})
	ctx := context.Background()
	// 08:00 three tickets, 09:30 one (whose slip does not print), 10:00 two.
	plan := []struct {
		at    time.Duration // after 08:00
		n     int
		paper bool
	}{{0, 3, true}, {90 * time.Minute, 1, false}, {2 * time.Hour, 2, true}}
	start := s.clk.Now()
	for _, p := range plan {
		s.clk.Set(start.Add(p.at))
		fail.Store(!p.paper)
		for i := 0; i < p.n; i++ {
			var r IssueResponse
			if c := s.do(t, "POST", "/api/v1/tickets", web.RoleKiosk, map[string]string{"service": "A"}, &r); c != 201 {
				t.Fatalf("issue: %d", c)
			}
		}
	}
	if err := s.q.Alert(ctx, "Máy in phiếu hết giấy"); err != nil { // at 10:00
		t.Fatal(err)
	}
	s.clk.Add(4 * time.Minute)
	first := must(t)(s.q.Next(ctx, "1", CloseAuto))
	must(t)(s.q.Start(ctx, first.Number))
	s.clk.Add(150 * time.Second)
	must(t)(s.q.Finish(ctx, first.Number))

	var rep Report
	if c := s.do(t, "GET", "/api/v1/queue/report", web.RoleCounter, nil, nil); c != 403 {
		t.Fatalf("report for a counter token: %d", c)
	}
	if c := s.do(t, "GET", "/api/v1/queue/report", web.RoleAdmin, nil, &rep); c != 200 {
		t.Fatalf("report: %d", c)
	}
	if rep.Title != "Ngày 02/03/2026" || len(rep.Charts) != 2 {
		t.Fatalf("report %q with %d charts", rep.Title, len(rep.Charts))
	}
	bars := regexp.MustCompile(`<title>giờ (\d\d): ([0-9,]+)</title>`).FindAllStringSubmatch(rep.Charts[0].SVG, -1)
	got := map[string]string{}
	for _, b := range bars {
		got[b[1]] = b[2]
	}
	if got["08"] != "3" || got["09"] != "1" || got["10"] != "2" || got["11"] != "0" || len(bars) != 11 {
		t.Fatalf("tickets per hour %v (%d bars)", got, len(bars))
	}
	if len(rep.Alerts) != 2 || rep.Alerts[0] != "09:30 · Máy in phiếu không in được phiếu số 1004" || rep.Alerts[1] != "10:00 · Máy in phiếu hết giấy" {
		t.Fatalf("alerts %q", rep.Alerts)
	}

	req, _ := http.NewRequest("GET", s.base+rep.CSV, nil)
	req.Header.Set("Authorization", "Bearer "+testTokens[web.RoleAdmin])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || strings.TrimPrefix(rows[0][0], "\ufeff") != "Số thứ tự" {
		t.Fatalf("csv: %d rows, header %q", len(rows), rows[0])
	}
	done := rows[1]
	// 1001: issued 08:00, called 10:04 (124 minutes), finished 10:06:30 at counter 1.
	if done[0] != "1001" || done[1] != "Chứng thực" || done[3] != "đã xong" || done[4] != "1" ||
		done[5] != "08:00:00" || done[6] != "10:04:00" || done[7] != "10:06:30" || done[8] != "124,0" {
		t.Fatalf("csv row of the served ticket: %q", done)
	}
	if rows[2][3] != "đang chờ" || rows[2][6] != "" {
		t.Fatalf("csv row of a waiting ticket: %q", rows[2])
	}

	var month Report
	if c := s.do(t, "GET", "/api/v1/queue/report?days=30", web.RoleAdmin, nil, &month); c != 200 {
		t.Fatalf("30 days: %d", c)
	}
	days := regexp.MustCompile(`<title>ngày (\d\d/\d\d): (\d+)</title>`).FindAllStringSubmatch(month.Charts[0].SVG, -1)
	if month.Title != "30 ngày, từ 01/02/2026 đến 02/03/2026" || len(days) != 30 || days[29][1] != "02/03" || days[29][2] != "6" || days[28][2] != "0" {
		t.Fatalf("30 days %q: %v", month.Title, days)
	}
}
