package bus

import "testing"

func TestTopicsAndSlowSubscribers(t *testing.T) {
	b := New(nil)
	all := b.Subscribe(1)
	id := b.Subscribe(10, "identity")
	b.Publish(Message{Topic: "scan"})
	b.Publish(Message{Topic: "identity", Public: map[string]any{"ok": true}})
	if m := <-id.C; m.Topic != "identity" || m.Time.IsZero() {
		t.Fatalf("identity subscriber got %+v", m)
	}
	select {
	case m := <-id.C:
		t.Fatalf("identity subscriber got another topic: %+v", m)
	default:
	}
	// all has a buffer of one: the second message was dropped, not blocked on.
	if m := <-all.C; m.Topic != "scan" {
		t.Fatalf("all got %+v", m)
	}
	if b.Dropped() != 1 {
		t.Fatalf("dropped = %d, want 1", b.Dropped())
	}
	all.Close()
	all.Close()
	b.Publish(Message{Topic: "scan"}) // no panic on a closed subscription
	if _, ok := <-all.C; ok {
		t.Fatal("closed subscription still delivers")
	}
}
