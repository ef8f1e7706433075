package config

import (
	"strings"
	"testing"
	"time"
)

func TestCardSection(t *testing.T) {
	t.Parallel()
	base := "site:\n  province_code: \"01\"\n  commune_code: \"00004\"\n  id: s\n  name: Test\n  device_id: d\ndata_dir: " + t.TempDir() + "\n"
	c, err := Parse([]byte(base+"card:\n  enabled: true\n  readers:\n    - name: ACR1252\n      counter: \"3\"\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Card.PairWindow != 60*time.Second || c.Card.ReadTimeout != 20*time.Second || c.Card.Simulation.VPCD != "127.0.0.1:35963" {
		t.Fatalf("defaults %+v", c.Card)
	}
	if counter, ok := c.Card.CounterOf("ACS ACR1252 Dual Reader PICC 00 00"); !ok || counter != "3" {
		t.Fatalf("counter of reader = %q, %v", counter, ok)
	}
	if _, ok := c.Card.CounterOf("Other Reader"); ok {
		t.Fatal("an unlisted reader was given a counter")
	}

	_, err = Parse([]byte(base+"card:\n  pair_window: 1h\n  keep:\n    name: true\n  readers:\n    - counter: \"2\"\n"), "", Overrides{})
	if err == nil {
		t.Fatal("bad card section accepted")
	}
	for _, want := range []string{"card.pair_window", "card.keep.purpose", "card.readers[0].name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %s:\n%v", want, err)
		}
	}
	if _, err = Parse([]byte(base+"card:\n  colour: red\n"), "", Overrides{}); err == nil || !strings.Contains(err.Error(), "card.colour") {
		t.Fatalf("unknown key: %v", err)
	}
}
