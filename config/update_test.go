package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUpdateSection(t *testing.T) {
	t.Parallel()
	base := "site: {province_code: \"40\", commune_code: \"16681\", id: s, name: N, device_id: d}\n" +
		"sync: {url: \"https://hub.example:8607\", secret_file: k}\n"
	good, err := Parse([]byte(base+"update: {root_file: root.json}\n"), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !good.Update.Enabled() || good.Update.Mode != UpdateRollout || good.Update.CheckEvery != 15*time.Minute || good.Update.RootFile != "/etc/m/root.json" {
		t.Fatalf("defaults: %+v", good.Update)
	}
	if none, err := Parse([]byte(base), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()}); err != nil || none.Update.Enabled() {
		t.Fatalf("no update section: %+v %v", none.Update, err)
	}
	for text, want := range map[string]string{
		"update: {root_file: r.json, mode: nightly}":    "update.mode: must be rollout, latest or off",
		"update: {root_file: r.json, check_every: 10s}": "update.check_every:",
		"update: {mode: latest}":                        "update.root_file: required with mode latest",
		"update: {root_file: r.json, every: 1h}":        "update.every",
	} {
		_, err := Parse([]byte(base+text+"\n"), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()})
		var p *Problems
		if !errors.As(err, &p) || !strings.Contains(p.Error(), want) {
			t.Errorf("%s: got %v, want a problem %q", text, err, want)
		}
	}
	noHub := "site: {province_code: \"40\", commune_code: \"16681\", id: s, name: N, device_id: d}\nupdate: {root_file: r.json}\n"
	if _, err := Parse([]byte(noHub), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "set sync.url too") {
		t.Errorf("updates without a hub: %v", err)
	}
}
