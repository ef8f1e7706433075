package scanner

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.bug.st/serial/enumerator"
)

func frames(t *testing.T, f *Framer, chunks ...string) []string {
	t.Helper()
	var out []string
	for _, c := range chunks {
		for _, fr := range f.Write([]byte(c)) {
			if fr.Err != nil {
				out = append(out, "ERR")
				continue
			}
			out = append(out, string(fr.Data))
		}
	}
	return out
}

func TestFramer(t *testing.T) {
	cases := []struct {
		suffix string
		chunks []string
		want   []string
		rest   int
	}{
		{"cr", []string{"abc\r"}, []string{"abc"}, 0},
		{"cr", []string{"abc\r\n", "def\r\n"}, []string{"abc", "def"}, 1}, // CRLF scanner on a CR config
		{"lf", []string{"a", "b", "c\nd", "ef\n"}, []string{"abc", "def"}, 0},
		{"crlf", []string{"abc\r", "\ndef\r\nghi\r\n"}, []string{"abc", "def", "ghi"}, 0},
		{"crlf", []string{"a\rb\r\n"}, []string{"a\rb"}, 0}, // a lone CR inside is data; Text refuses it later
		{"crlf", []string{"\r\n\r\n", "x\r\n"}, []string{"x"}, 0},
		{"none", []string{"abc\r\n"}, nil, 5},
	}
	for _, tc := range cases {
		sfx, err := SuffixBytes(tc.suffix)
		if err != nil {
			t.Fatal(err)
		}
		f := NewFramer(sfx, 64)
		got := frames(t, f, tc.chunks...)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || f.Pending() != tc.rest {
			t.Errorf("%s %q: got %q pending %d, want %q pending %d", tc.suffix, tc.chunks, got, f.Pending(), tc.want, tc.rest)
		}
	}
}

func TestFramerIdleAndLost(t *testing.T) {
	f := NewFramer(nil, 64)
	f.Write([]byte("scan one"))
	fr, ok := f.Idle()
	if !ok || string(fr.Data) != "scan one" || !fr.ByIdle {
		t.Fatalf("idle: %+v %v", fr, ok)
	}
	f.Write([]byte("scan two"))
	if fr, ok := f.Lost(); !ok || fr.Err != nil || string(fr.Data) != "scan two" {
		t.Fatalf("lost without suffix must deliver the scan: %+v", fr)
	}
	g := NewFramer([]byte{'\r'}, 64)
	g.Write([]byte("half a sc"))
	if fr, ok := g.Lost(); !ok || !errors.Is(fr.Err, ErrIncomplete) || fr.Data != nil {
		t.Fatalf("lost with a suffix pending must be incomplete: %+v", fr)
	}
}

func TestFramerOverlongResyncs(t *testing.T) {
	f := NewFramer([]byte("\r\n"), 100)
	got := frames(t, f, strings.Repeat("x", 1<<20), "still junk\r", "\n", "good\r\n")
	if strings.Join(got, "|") != "ERR|good" {
		t.Fatalf("got %q", got)
	}
	if f.Pending() != 0 {
		t.Fatalf("pending %d", f.Pending())
	}
	g := NewFramer(nil, 100)
	if got := frames(t, g, strings.Repeat("y", 1000)); strings.Join(got, "|") != "ERR" {
		t.Fatalf("no suffix: got %q", got)
	}
	if _, ok := g.Idle(); ok {
		t.Fatal("dropped bytes came back at the idle gap")
	}
	g.Write([]byte("ok"))
	if fr, _ := g.Idle(); string(fr.Data) != "ok" {
		t.Fatalf("after resync: %+v", fr)
	}
}

// FuzzFramer checks that however a stream is cut into reads, the same scans come out,
// none longer than max and none containing the suffix.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("abc\r\ndef\r\n"), uint8(3), uint8(2))
	f.Add([]byte("\r\r\n\n\x00\xff"), uint8(1), uint8(0))
	f.Add(bytes.Repeat([]byte("z"), 300), uint8(7), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8, sfx uint8) {
		names := []string{"cr", "lf", "crlf"}
		suffix, _ := SuffixBytes(names[int(sfx)%len(names)])
		whole := NewFramer(suffix, 128)
		a := whole.Write(stream)
		pieces := NewFramer(suffix, 128)
		var b []Frame
		step := int(cut)%16 + 1
		for i := 0; i < len(stream); i += step {
			b = append(b, pieces.Write(stream[i:min(i+step, len(stream))])...)
		}
		if len(a) != len(b) {
			t.Fatalf("whole %d frames, pieces %d", len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].Data, b[i].Data) || (a[i].Err == nil) != (b[i].Err == nil) {
				t.Fatalf("frame %d differs: %q vs %q", i, a[i].Data, b[i].Data)
			}
			if len(a[i].Data) > 128+len(suffix) || bytes.Contains(a[i].Data, suffix) {
				t.Fatalf("bad frame %q", a[i].Data)
			}
		}
		if whole.Pending() > 128+len(suffix) {
			t.Fatalf("holds %d bytes", whole.Pending())
		}
	})
}

func TestFindUSB(t *testing.T) {
	list := func(...func(vid, pid string) bool) ([]*enumerator.PortDetails, error) {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyS0"},
			{Name: "/dev/ttyACM0", IsUSB: true, VID: "0C2E", PID: "0B61", SerialNumber: "A1"},
			{Name: "/dev/ttyACM1", IsUSB: true, VID: "0c2e", PID: "0b61", SerialNumber: "B2"},
			{Name: "/dev/ttyACM2", IsUSB: true, VID: "1eab", PID: "1d06", SerialNumber: "C3"},
		}, nil
	}
	cases := []struct{ vidpid, sn, want, err string }{
		{"1EAB:1D06", "", "/dev/ttyACM2", ""},
		{"0c2e:0b61", "b2", "/dev/ttyACM1", ""},
		{"0c2e:0b61", "", "", "set serial_number"},
		{"0c2e:0b61", "Z9", "", "serial number Z9"},
		{"ffff:0001", "", "", "unplugged"},
		{"nonsense", "", "", "VID:PID"},
	}
	for _, c := range cases {
		got, err := FindUSB(list, c.vidpid, c.sn)
		if got != c.want || (c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err))) || (c.err == "" && err != nil) {
			t.Errorf("%s %s: %q %v", c.vidpid, c.sn, got, err)
		}
	}
}
