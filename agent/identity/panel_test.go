package identity

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/keyboard"
	"motcua-agent/internal/testkit"
)

// recordingTypist is a keyboard.Typist that keeps what it was asked to type.
type recordingTypist struct{ typed *[]keyboard.Stroke }

func (r recordingTypist) Type(_ context.Context, s []keyboard.Stroke) error {
	*r.typed = append(*r.typed, s...)
	return nil
}
func (recordingTypist) Close() error { return nil }

func panelRig(t *testing.T) (*panel, *testkit.Clock, *store.Store, *[]keyboard.Stroke) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := testkit.NewClock(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	var typed []keyboard.Stroke
	card := config.Card{Panel: config.CardPanel{ClearAfter: 5 * time.Minute,
		Typing: config.CardTyping{Enabled: true, Fields: []string{"id", "tab", "name"}}}}
	d := &Deps{Card: card, Site: "s", Store: st, Bus: bus.New(nil), Now: clk.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Keyboard: func(keyboard.Options) (keyboard.Typist, error) { return recordingTypist{&typed}, nil }}
	return newPanel(d), clk, st, &typed
}

func doneMessage(counter, outcome, reason string, at time.Time) bus.Message {
	checks := &StatusChecks{DataGroups: map[string]string{"DG13": "passed"}, SODSignature: emrtd.CheckPassed, Chain: emrtd.ChainTrusted,
		ChipAuth: emrtd.CheckPassed, QRAgreement: emrtd.CheckPassed}
	if reason == ReasonHashMismatch {
		checks.DataGroups["DG13"] = "failed"
	}
	return bus.Message{Topic: TopicIdentity, Time: at, Public: Status{Counter: counter, State: "done", Outcome: outcome, Reason: reason,
		Method: "PACE-CAN", KeySource: "qr", Checks: checks},
		Personal: Person{ID: "001090012345", Name: "Nguyễn Thị Ánh Tuyết", Birth: "15/03/1990"}}
}

// The panel shows a read only at its counter, only to roles that may see personal
// data, and forgets the holder after clear_after.
func TestPanelViewAndExpiry(t *testing.T) {
	p, clk, _, _ := panelRig(t)
	p.take(doneMessage("2", OutcomeOK, "", clk.Now()))
	v := p.view("2", true)
	if v.Headline != "Thẻ hợp lệ" || len(v.Facts) != 5 || len(v.Fields) != 3 || !v.Typing.Enabled {
		t.Fatalf("view %+v", v)
	}
	if other := p.view("1", true); other.State != "" || len(other.Fields) != 0 {
		t.Fatalf("counter 1 sees counter 2's read: %+v", other)
	}
	if anon := p.view("2", false); len(anon.Fields) != 0 || anon.Photo != "" || anon.Typing.Enabled || len(anon.Facts) != 5 {
		t.Fatalf("a role without personal data gets %+v", anon)
	}
	// A new read starting keeps the last result on screen under its state.
	p.take(bus.Message{Topic: TopicIdentity, Time: clk.Now(), Public: Status{Counter: "2", State: "reading", Message: "Đang đọc chip"}})
	if v := p.view("2", true); v.State != "reading" || len(v.Fields) != 3 {
		t.Fatalf("reading view %+v", v)
	}
	clk.Add(4 * time.Minute)
	p.expire()
	if v := p.view("2", true); len(v.Fields) != 3 {
		t.Fatal("cleared before clear_after")
	}
	clk.Add(time.Minute)
	p.expire()
	if v := p.view("2", true); v.State != "" || len(v.Fields) != 0 {
		t.Fatalf("not cleared after clear_after: %+v", v)
	}
}

// Typing types the configured fields in order, records counts only, and refuses a
// card that failed its checks.
func TestPanelTypeLast(t *testing.T) {
	p, clk, st, typed := panelRig(t)
	if r := p.typeLast(context.Background(), "2", "button"); r.status != http.StatusNotFound {
		t.Fatalf("nothing read: %+v", r)
	}
	p.take(doneMessage("2", OutcomeOK, "", clk.Now()))
	if r := p.typeLast(context.Background(), "2", "button"); r.status != http.StatusOK || r.fields != 2 || r.keys != 1 {
		t.Fatalf("typing: %+v", r)
	}
	if len(*typed) != 3 || (*typed)[0].Text != "001090012345" || (*typed)[1].Key != keyboard.KeyTab || (*typed)[2].Text != "Nguyễn Thị Ánh Tuyết" {
		t.Fatalf("typed %+v", *typed)
	}
	evs, err := st.Events(context.Background(), store.EventFilter{Kinds: []string{EventTyped}})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	raw, _ := json.Marshal(evs)
	if strings.Contains(string(raw), "001090012345") || strings.Contains(string(raw), "Tuyết") {
		t.Fatalf("the typing event holds the data: %s", raw)
	}
	p.take(doneMessage("2", OutcomeFailed, ReasonHashMismatch, clk.Now()))
	if r := p.typeLast(context.Background(), "2", "button"); r.status != http.StatusConflict {
		t.Fatalf("a tampered card typed: %+v", r)
	}
	// No desktop: a clear refusal, nothing recorded.
	p.open = func(keyboard.Options) (keyboard.Typist, error) { return nil, keyboard.ErrNoDisplay }
	p.take(doneMessage("2", OutcomeOK, "", clk.Now()))
	if r := p.typeLast(context.Background(), "2", "button"); r.status != http.StatusServiceUnavailable || r.vi == "" {
		t.Fatalf("no desktop: %+v", r)
	}
	if evs, _ := st.Events(context.Background(), store.EventFilter{Kinds: []string{EventTyped}}); len(evs) != 1 {
		t.Fatalf("%d typing events", len(evs))
	}
}
