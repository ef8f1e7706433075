package config

import (
	"errors"
	"strings"
	"testing"
)

func TestSyncSection(t *testing.T) {
	t.Parallel()
	base := "site: {province_code: \"40\", commune_code: \"16681\", id: s, name: N, device_id: d}\n"
	secret := strings.Repeat("ab", 32)
	good, err := Parse([]byte(base+"sync: {url: \"https://hub.example:8607\", secret: \""+secret+"\"}\n"), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !good.Sync.Enabled() || good.Sync.Interval.Seconds() != 60 || good.Sync.BatchSize != 1000 || good.Sync.MaxBackoff.Minutes() != 10 {
		t.Fatalf("defaults: %+v", good.Sync)
	}
	if strings.Contains(string(good.Redacted().YAML()), secret) {
		t.Fatal("redacted config shows the sync secret")
	}
	cases := map[string]string{
		"sync: {url: \"https://hub.example\"}":                                           "sync.secret: required",
		"sync: {url: \"ftp://hub\", secret: \"" + secret + "\"}":                         "sync.url:",
		"sync: {url: \"https://hub/x\", secret: \"" + secret + "\"}":                     "sync.url:",
		"sync: {url: \"https://hub\", secret: \"abc\"}":                                  "sync.secret: must be the hex secret",
		"sync: {url: \"https://hub\", secret: \"" + secret + "\", secret_file: \"k\"}":   "not both",
		"sync: {url: \"https://hub\", secret_file: k, max_backoff: 1s, min_backoff: 5s}": "sync.max_backoff:",
		"sync: {batch_size: 9000}":                                                       "sync.batch_size:",
		"sync: {interval: 10ms}":                                                         "sync.interval:",
	}
	for text, want := range cases {
		_, err := Parse([]byte(base+text+"\n"), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()})
		var p *Problems
		if !errors.As(err, &p) || !strings.Contains(p.Error(), want) {
			t.Errorf("%s: got %v, want a problem %q", text, err, want)
		}
	}
	// Without a URL nothing is required: counters stay local.
	if _, err := Parse([]byte(base), "/etc/m/s.yaml", Overrides{DataDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}
