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

// Card reads read the photo only for the purposes that need it; the config chooses.
func TestCardPhotoFor(t *testing.T) {
	t.Parallel()
	base := "site:\n  province_code: \"01\"\n  commune_code: \"00004\"\n  id: s\n  name: Test\n  device_id: d\ndata_dir: " + t.TempDir() + "\n"
	c, err := Parse([]byte(base+"card:\n  enabled: true\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	for purpose, want := range map[string]bool{ScanForIdentity: true, ScanForCheckin: false, ScanForGate: false, "": true} {
		if got := c.Card.ReadsPhoto(purpose); got != want {
			t.Errorf("default: photo for %q = %v, want %v", purpose, got, want)
		}
	}
	c, err = Parse([]byte(base+"card:\n  photo_for:\n    checkin: true\n    identity: false\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Card.ReadsPhoto(ScanForCheckin) || c.Card.ReadsPhoto(ScanForIdentity) || c.Card.ReadsPhoto(ScanForGate) {
		t.Errorf("configured: %v", c.Card.PhotoFor)
	}
	c, err = Parse([]byte(base+"card:\n  photo_for:\n    identity: false\n  keep:\n    photo: true\n    purpose: hồ sơ\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Card.ReadsPhoto(ScanForIdentity) {
		t.Error("a photo the config keeps was not read")
	}
	if _, err := Parse([]byte(base+"card:\n  photo_for:\n    lobby: true\n"), "", Overrides{}); err == nil || !strings.Contains(err.Error(), "card.photo_for.lobby") {
		t.Fatalf("unknown purpose: %v", err)
	}
}
