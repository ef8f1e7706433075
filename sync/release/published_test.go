package release

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// What the hub may offer: the versions its repository's targets.json signs, checked
// against root.json; an altered targets.json publishes nothing.
func TestPublishedListsOnlySignedVersions(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if err := Publish(r.dir, v, map[Kind]string{KindLinux: writeFile(t, v)}, now); err != nil {
			t.Fatal(err)
		}
	}
	repo := filepath.Join(r.dir, RepositoryDir)
	got, err := Published(repo, now)
	if err != nil || len(got) != 2 || !slices.Equal(got["1.2.0"], []Kind{KindLinux}) {
		t.Fatalf("published: %v %v", got, err)
	}
	if _, err := Published(repo, now.Add(TargetsExpiry+time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired targets: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(repo, "targets.json"))
	os.WriteFile(filepath.Join(repo, "targets.json"), []byte(strings.Replace(string(raw), `"1.2.0"`, `"9.2.0"`, 1)), 0o644)
	if got, err := Published(repo, now); err == nil {
		t.Fatalf("an altered targets.json publishes %v", got)
	}
}

// The agent reports a release that failed its verification (refused) apart from a hub
// out of reach (tried again later).
func TestCheckTellsRefusedFromUnreachable(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.1.0", map[Kind]string{KindLinux: writeFile(t, "good")}, now); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.dir, RepositoryDir, "targets", "1.1.0", "motcua-agent-linux-amd64"), []byte("evil"), 0o644)
	_, err := r.client(t, t.TempDir(), now).CheckFor(KindLinux, "1.0.0", "1.1.0")
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("tampered target: %v", err)
	}
	_, err = r.client(t, t.TempDir(), now.Add(TimestampExpiry+time.Hour)).CheckFor(KindLinux, "1.0.0", "1.1.0")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("expired timestamp: %v", err)
	}
	c := r.client(t, t.TempDir(), now)
	r.srv.Close()
	_, err = c.CheckFor(KindLinux, "1.0.0", "1.1.0")
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrRefused) {
		t.Fatalf("hub down: %v", err)
	}
}
