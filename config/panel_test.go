package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCardPanelSection(t *testing.T) {
	t.Parallel()
	base := "site:\n  province_code: \"01\"\n  commune_code: \"00004\"\n  id: s\n  name: Test\n  device_id: d\ndata_dir: " + t.TempDir() + "\n"
	c, err := Parse([]byte(base+"card:\n  enabled: true\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Card.Panel
	if p.ClearAfter != 5*time.Minute || p.Typing.Enabled || p.Typing.Countdown != 3*time.Second ||
		!reflect.DeepEqual(p.Typing.Fields, []string{"id", "tab", "name", "tab", "birth"}) {
		t.Fatalf("defaults %+v", p)
	}
	c, err = Parse([]byte(base+"card:\n  panel:\n    typing:\n      enabled: true\n      fields: [Name, ENTER, residence]\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Card.Panel.Typing.Fields, []string{"name", "enter", "residence"}) {
		t.Fatalf("fields %v", c.Card.Panel.Typing.Fields)
	}

	c, err = Parse([]byte(base+"card:\n  readers:\n    - {name: ACR, counter: \"4\"}\n  panel:\n    typing:\n      hotkey: ctrl+F9\n"), "", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := ParseHotkey(c.Card.Panel.Typing.Hotkey); h != (Hotkey{F: 9, Ctrl: true}) || c.Card.Panel.Typing.Counter != "4" {
		t.Fatalf("hotkey %+v counter %q", h, c.Card.Panel.Typing.Counter)
	}
	_, err = Parse([]byte(base+"card:\n  panel:\n    clear_after: 2s\n    typing:\n      enabled: true\n      countdown: 1m\n      hotkey: ctrl+A\n      fields: [tab, photo]\n"), "", Overrides{})
	if err == nil {
		t.Fatal("bad panel section accepted")
	}
	for _, want := range []string{"card.panel.clear_after", "card.panel.typing.countdown", "card.panel.typing.fields[1]: unknown field \"photo\"",
		"card.panel.typing.fields: typing is enabled but no holder field",
		"card.panel.typing.hotkey: the key must be a function key F1-F12"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %s:\n%v", want, err)
		}
	}
}

func TestDemoTypes(t *testing.T) {
	t.Parallel()
	c, err := Demo(t.TempDir(), Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Card.Panel.Typing.Enabled {
		t.Fatal("the demo does not show typing")
	}
}
