package bus

import (
	"context"
	"testing"
)

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

func TestEachStopsWithContextAndCloses(t *testing.T) {
	b := New(nil)
	s := b.Subscribe(4, "scan")
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 4)
	done := make(chan struct{})
	go func() { s.Each(ctx, func(m Message) { got <- m.Topic }); close(done) }()
	b.Publish(Message{Topic: "scan"})
	if <-got != "scan" {
		t.Fatal("Each did not deliver")
	}
	cancel()
	<-done
	if _, ok := <-s.C; ok {
		t.Fatal("Each left the subscription open")
	}
}
