package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The province's release steps through the built program: init, publish, a version
// that does not move forward refused, the hub's refresh with its key alone.
func TestReleaseCommands(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "rel")
	if out, code := runHub(t, "release", "init", "--dir", dir); code != 0 || !strings.Contains(out, "offline") {
		t.Fatalf("init: %d %s", code, out)
	}
	bin := filepath.Join(t.TempDir(), "motcua-agent")
	if err := os.WriteFile(bin, []byte("agent"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, code := runHub(t, "release", "publish", "--dir", dir, "--version", "1.1.0", "--linux", bin); code != 0 {
		t.Fatalf("publish: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "repository", "targets", "1.1.0", "motcua-agent-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	if out, code := runHub(t, "release", "publish", "--dir", dir, "--version", "1.0.0", "--linux", bin); code != 1 || !strings.Contains(out, "only move forward") {
		t.Fatalf("older publish: %d %s", code, out)
	}
	if out, code := runHub(t, "release", "publish", "--dir", dir, "--linux", bin); code != 2 {
		t.Fatalf("publish without version: %d %s", code, out)
	}
	// The hub holds hub.key and repository/ only.
	hub := t.TempDir()
	if err := os.CopyFS(hub, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"root.key", "release.key"} {
		os.Remove(filepath.Join(hub, k))
	}
	before, _ := os.ReadFile(filepath.Join(hub, "repository", "timestamp.json"))
	if out, code := runHub(t, "release", "refresh", "--dir", hub); code != 0 || !strings.Contains(out, "until") {
		t.Fatalf("refresh: %d %s", code, out)
	}
	after, _ := os.ReadFile(filepath.Join(hub, "repository", "timestamp.json"))
	if string(before) == string(after) {
		t.Fatal("refresh did not re-sign the timestamp")
	}
	if out, code := runHub(t, "release", "publish", "--dir", hub, "--version", "2.0.0", "--linux", bin); code != 1 || !strings.Contains(out, "release key") {
		t.Fatalf("publish on the hub without the release key: %d %s", code, out)
	}
	if out, code := runHub(t, "release", "rotate", "--dir", dir); code != 2 {
		t.Fatalf("unknown subcommand: %d %s", code, out)
	}
}
