package identity

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
)

// TestStreamsDropTheHolderByType: a verified card's message goes out on the real event
// stream. The kiosk and the display board get the public facts and nothing of the
// holder: not the name or the ID number (the Person part) and not the keyed hash (the
// Linkable part), even with the kiosk listed among personal-data roles. The counter
// gets both, as the office's own software needs them.
func TestStreamsDropTheHolderByType(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	cfg, err := config.Demo(dir, config.Overrides{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.PersonalDataRoles = []string{"counter", "kiosk"}
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := store.NewIDHasher([]byte("stream-test-secret-0123"))
	b := bus.New(nil)
	tokens := map[web.Role]string{web.RoleKiosk: "kiosk-token-123456", web.RoleCounter: "counter-token-12345",
		web.RoleDisplay: "display-token-12345"}
	srv := web.New(web.Options{Config: cfg, Tokens: tokens, Store: st, Bus: b, Health: health.New(nil), Metrics: metrics.New()})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	streams := map[web.Role]*bufio.Reader{}
	for role, tok := range tokens {
		sctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(sctx, "GET", "http://"+srv.Addr()+"/api/v1/stream?topics="+TopicIdentity+"&token="+tok, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream as %s: %v %v", role, err, resp)
		}
		streams[role] = bufio.NewReader(resp.Body)
	}

	f := New(Deps{Card: config.Card{Enabled: true}, Site: "site", Store: st, IDs: ids, Bus: b, Health: health.New(nil),
		Now: func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC) }})
	holder := &Holder{ID: "001099012345", Name: "Nguyễn Văn Bình", Birth: "15/03/1990", Residence: "Số 1 Phố Huế, Hà Nội"}
	if err := f.Record(ctx, "2", "qr", &Verification{Outcome: OutcomeOK, Holder: holder}); err != nil {
		t.Fatal(err)
	}
	hash := ids.Hash(holder.ID)
	for role, r := range streams {
		data := dataLine(t, r)
		if !strings.Contains(data, `"outcome":"ok"`) || !strings.Contains(data, `"counter":"2"`) {
			t.Errorf("%s lost the public facts: %s", role, data)
		}
		carries := func(s string) bool { return strings.Contains(data, s) }
		if role == web.RoleCounter {
			if !carries(holder.Name) || !carries(`"id_hash":"`+hash+`"`) {
				t.Errorf("the counter's stream lacks the holder or the hash: %s", data)
			}
			continue
		}
		for _, secret := range []string{holder.ID, holder.Name, holder.Residence, hash, `"personal"`, `"linkable"`} {
			if carries(secret) {
				t.Errorf("%s's stream carries %q: %s", role, secret, data)
			}
		}
	}
}

// dataLine reads a stream up to its next event's data line.
func dataLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			return d
		}
	}
}
