package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"motcua-agent/internal/testkit"
	"motcua-agent/sync/release"
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

// The hub serves its releases: `serve --releases DIR` re-signs the metadata at start
// and answers an agent's verified check over HTTP with the published file; nothing
// else of the folder (its key) is served, and a POST is refused.
func TestServeReleases(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "rel")
	if out, code := runHub(t, "release", "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	bin := filepath.Join(t.TempDir(), "motcua-agent")
	os.WriteFile(bin, []byte("agent 1.3.0"), 0o755)
	if out, code := runHub(t, "release", "publish", "--dir", dir, "--version", "1.3.0", "--linux", bin); code != 0 {
		t.Fatalf("publish: %d %s", code, out)
	}
	root, err := os.ReadFile(filepath.Join(dir, "repository", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	hubDir := t.TempDir()
	os.CopyFS(hubDir, os.DirFS(dir))
	os.Remove(filepath.Join(hubDir, "root.key"))
	os.Remove(filepath.Join(hubDir, "release.key"))
	before, _ := os.ReadFile(filepath.Join(hubDir, "repository", "timestamp.json"))

	cmd := hubCmd("serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "hub.db"), "--releases", hubDir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	u := testkit.WaitLine(t, stderr, regexp.MustCompile(`url=(http://\S+)`))
	if after, _ := os.ReadFile(filepath.Join(hubDir, "repository", "timestamp.json")); string(after) == string(before) {
		t.Error("serve did not re-sign the timestamp at start")
	}
	found, err := release.Client{TrustedRoot: root, BaseURL: u + "/releases", CacheDir: t.TempDir()}.Check(release.KindLinux, "1.2.0")
	if err != nil || found.Version != "1.3.0" || string(found.Data) != "agent 1.3.0" {
		t.Fatalf("the agent's check through the hub: %+v %v", found.Version, err)
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{{"GET", "/releases/../hub.key", 404}, {"GET", "/releases/hub.key", 404}, {"POST", "/releases/timestamp.json", 405}, {"GET", "/releases/timestamp.json", 200}} {
		req, _ := http.NewRequest(c.method, u+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
}
