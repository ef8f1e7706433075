package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config publish and list through the built program: a fragment published for a site,
// a later version accepted, an older one and a device's own setting refused, unknown
// words refused; the list shows what is published and the tokens never.
func TestConfigPublishAndList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	if out, code := runHub(t, "enroll", "--db", db, "--site", "vinh-hung", "--device", "quay-1", "--commune", "Phường Vinh Hưng"); code != 0 {
		t.Fatalf("enroll: %d %s", code, out)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "http:\n  tokens:\n    kiosk: secret-kiosk-token-0123456789\nlog:\n  level: warn\n")
	if out, code := runHub(t, "config", "publish", "--db", db, "--site", "vinh-hung", "--version", "2", good); code != 0 || !strings.Contains(out, "published site:vinh-hung version 2 (sections: http, log") {
		t.Fatalf("publish: %d %s", code, out)
	}
	if out, code := runHub(t, "config", "publish", "--db", db, "--commune", "Phường Vinh Hưng", good); code != 0 {
		t.Fatalf("publish for a commune with the default version: %d %s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--site", "vinh-hung", "--version", "1", good}, "does not move forward"},
		{[]string{"--site", "vinh-hung", "--version", "3", write("secret.yaml", "sync:\n  secret_file: /x\n")}, "sync.secret_file"},
		{[]string{"--site", "vinh-hung", "--all", good}, "exactly one"},
		{[]string{"--site", "vinh-hung", "--bogus", good}, "bogus"},
		{[]string{"--site", "vinh-hung"}, ""},
		{[]string{"--site", "vinh-hung", "extra", good}, "unexpected"},
	} {
		out, code := runHub(t, append([]string{"config", "publish", "--db", db}, c.args...)...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("config publish %v: %d %s", c.args, code, out)
		}
	}
	if out, code := runHub(t, "config", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: %d %s", code, out)
	}
	out, code := runHub(t, "config", "list", "--db", db)
	if code != 0 || !strings.Contains(out, "site:vinh-hung") || !strings.Contains(out, "commune:Phường Vinh Hưng") ||
		!strings.Contains(out, "quay-1") || strings.Contains(out, "secret-kiosk-token") {
		t.Fatalf("config list: %d %s", code, out)
	}
}
