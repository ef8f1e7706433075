package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const gateLanes = `gate:
  enabled: true
  capacity: 100
  reserve: 10
  lanes:
    - name: vao-1
      direction: entry
      relay: {port: /dev/ttyUSB0}
`

func TestGateDefaults(t *testing.T) {
	t.Parallel()
	c, p := parse(t, minimal+gateLanes)
	if p != nil {
		t.Fatal(p)
	}
	g := c.Gate
	l := g.Lanes[0]
	if g.DuplicateWindow != 5*time.Second || g.Pulse != time.Second || l.Pulse != time.Second {
		t.Fatalf("timing defaults: %+v", g)
	}
	if l.Title != "vao-1" || len(l.AllowedKinds) != 2 {
		t.Fatalf("lane defaults: %+v", l)
	}
	if r := l.Relay; r.Board != RelayLCUS || r.Channel != 1 || r.Baud != 9600 || r.Timeout <= 0 {
		t.Fatalf("relay defaults: %+v", r)
	}
	if _, _, ok := g.ClosingClock(); ok {
		t.Fatal("a closing clock without closing_time")
	}
}

func TestGateValidation(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, from, to, path, msg string }{
		{"direction", "direction: entry", "direction: sideways", "gate.lanes[0].direction", "entry, exit or both"},
		{"lane name", "name: vao-1", "name: \"Vào 1\"", "gate.lanes[0].name", "lower-case"},
		{"reserve", "reserve: 10", "reserve: 100", "gate.reserve", "less than capacity"},
		{"capacity", "capacity: 100", "capacity: -1", "gate.capacity", "0 (no limit)"},
		{"closing", "enabled: true", "enabled: true\n  closing_time: \"25:00\"", "gate.closing_time", "HH:MM"},
		{"opening alone", "enabled: true", "enabled: true\n  opening_time: \"07:00\"", "gate.opening_time", "needs closing_time"},
		{"opening late", "enabled: true", "enabled: true\n  opening_time: \"18:00\"\n  closing_time: \"17:30\"", "gate.opening_time", "before closing_time"},
		{"opening bad", "enabled: true", "enabled: true\n  opening_time: \"7h\"\n  closing_time: \"17:30\"", "gate.opening_time", "HH:MM"},
		{"board", "{port: /dev/ttyUSB0}", "{port: /dev/ttyUSB0, board: acme}", "gate.lanes[0].relay.board", "lcus, kmtronic or custom"},
		{"custom", "{port: /dev/ttyUSB0}", "{port: /dev/ttyUSB0, board: custom, close: \"55 01\"}", "gate.lanes[0].relay", "close and release"},
		{"hex", "{port: /dev/ttyUSB0}", "{port: /dev/ttyUSB0, board: custom, close: \"5G\", release: \"00\"}", "gate.lanes[0].relay.close", "hex"},
		{"kind", "direction: entry", "direction: entry\n      allowed_kinds: [passport]", "gate.lanes[0].allowed_kinds[0]", "unknown kind"},
		{"eticket", "direction: entry", "direction: entry\n      allowed_kinds: [eticket]", "gate.lanes[0].allowed_kinds[0]", "ticket_prefix"},
		{"no lanes", "  lanes:", "  old_lanes:", "gate.old_lanes", "unknown key"},
		{"duplicate", "relay: {port: /dev/ttyUSB0}", "relay: {port: /dev/ttyUSB0}\n    - {name: vao-1}", "gate.lanes[1].name", "named twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(gateLanes, tc.from, tc.to, 1)
			if text == gateLanes {
				t.Fatalf("replacement %q not found", tc.from)
			}
			_, p := parse(t, minimal+text)
			if p == nil {
				t.Fatal("accepted")
			}
			for _, q := range p.List {
				if q.Path == tc.path && strings.Contains(q.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got:\n%s", tc.path, tc.msg, p)
		})
	}
}

func TestGateExampleHasLanes(t *testing.T) {
	t.Parallel()
	b, _ := Example(ProfileGate)
	c, err := Parse(b, filepath.Join(t.TempDir(), "gate.yaml"), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Gate.Enabled || len(c.Gate.Lanes) != 3 || c.Gate.Lanes[1].Relay.Board != RelayKMTronic {
		t.Fatalf("gate example: %+v", c.Gate)
	}
	if h, m, ok := c.Gate.ClosingClock(); !ok || h != 17 || m != 30 {
		t.Fatalf("closing clock %d:%d %v", h, m, ok)
	}
}

func TestParseHex(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]byte{"A0 01 01 A2": {0xA0, 1, 1, 0xA2}, "0xFF,0x01": {0xFF, 1}, "": {}, "a0:01": {0xA0, 1}} {
		got, err := ParseHex(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseHex(%q) = % X, %v", in, got, err)
		}
	}
	if _, err := ParseHex("A"); err == nil {
		t.Error("odd hex accepted")
	}
}
