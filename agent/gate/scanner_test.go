package gate

import (
	"bytes"
	"strings"
	"testing"
)

func TestLineSplitter(t *testing.T) {
	var s lineSplitter
	if got := s.feed([]byte("VE-KL-1")); len(got) != 0 {
		t.Fatalf("a partial line came out: %q", got)
	}
	got := s.feed([]byte("23\r\n\r\nVE-KL-456\nVE-KL-7\r"))
	want := []string{"VE-KL-123", "VE-KL-456", "VE-KL-7"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("code %d = %q, want %q", i, got[i], want[i])
		}
	}
	long := strings.Repeat("A", maxPayload+10)
	got = s.feed([]byte(long[:100]))
	got = append(got, s.feed([]byte(long[100:]+"\nVE-KL-8\n"))...)
	if len(got) != 2 || len(got[0]) <= maxPayload || string(got[1]) != "VE-KL-8" {
		t.Fatalf("overlong line: got %d codes", len(got))
	}
	if c := Classify(got[0], "VE-KL-"); c.Kind != "unreadable" {
		t.Fatalf("an overlong line classified as %s", c.Kind)
	}
}

func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("abc\r\ndef\n"), 3)
	f.Add([]byte("\r\r\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 {
			cut = -cut
		}
		var s lineSplitter
		var codes [][]byte
		for len(data) > 0 {
			n := cut%7 + 1
			if n > len(data) {
				n = len(data)
			}
			codes = append(codes, s.feed(data[:n])...)
			data = data[n:]
		}
		for _, c := range codes {
			if len(c) == 0 || bytes.ContainsAny(c, "\r\n") || len(c) > maxPayload+1 {
				t.Fatalf("bad code %q", c)
			}
		}
	})
}
