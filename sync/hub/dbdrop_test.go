package hub

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"motcua-agent/sync/wire"
)

// TestDatabaseSessionsDroppedMidRun: the province's PostgreSQL server drops every
// session of the hub's database (a failover, a restart for patching). The hub answers
// each push either 200 with it stored or 503 without (the agent sends it again), then
// carries on by itself; a request stored before the drop is still refused as a replay.
func TestDatabaseSessionsDroppedMidRun(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		if !onPostgres(t) {
			t.Skip("a SQLite file has no server sessions to drop")
		}
		b := newBackend(t)
		th := &testHub{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
		h, err := b.open(Options{Now: func() time.Time { return th.now }})
		if err != nil {
			t.Fatal(err)
		}
		th.Hub, th.srv = h, httptest.NewServer(h.Handler())
		t.Cleanup(func() { th.srv.Close(); h.Close() })
		secret := th.enroll(t, "NA-VH", "pc1")
		first := signedRequest{device: "pc1", secret: secret, gzip: true,
			body: pushBody(t, "NA-VH", "pc1", snap("2026-11-20", "tickets.issued", 10, 1, "service", "13"))}
		status, er, replay := th.do(t, first)
		if status != http.StatusOK {
			t.Fatalf("first push: %d %+v", status, er)
		}

		admin, err := sql.Open("pgx", b.db)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var dropped int
		if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&dropped); err != nil {
			t.Fatal(err)
		}
		if dropped == 0 {
			t.Fatal("the hub held no session to drop: the test would prove nothing")
		}

		// The agent's next push, sent again (new nonce) for as long as it is refused.
		var answers []int
		for attempt := 0; ; attempt++ {
			if attempt == 5 {
				t.Fatalf("the hub did not recover from dropped sessions: answers %v", answers)
			}
			status, er, _ := th.do(t, signedRequest{device: "pc1", secret: secret, gzip: true,
				body: pushBody(t, "NA-VH", "pc1", snap("2026-11-20", "tickets.issued", 12, 2, "service", "13"))})
			answers = append(answers, status)
			if status == http.StatusOK {
				break
			}
			if status != http.StatusServiceUnavailable {
				t.Fatalf("push after the drop: %d %+v; want 200, or 503 to send it again", status, er)
			}
		}
		t.Logf("answers after the drop: %v (%d sessions dropped)", answers, dropped)
		if got := th.total(t, "tickets.issued"); got != 12 {
			t.Fatalf("total after the drop = %d, want 12", got)
		}
		if status, er, _ := th.send(t, replay); status != http.StatusConflict || er.Code != wire.CodeReplay {
			t.Fatalf("the first request replayed after the drop: %d %+v, want 409 replay", status, er)
		}
	})
}
