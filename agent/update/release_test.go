package update

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/sync/release"
)

// hubRepo is a release folder published with the real keys and served over loopback.
func hubRepo(t *testing.T, now time.Time, version, bin string) (string, release.Client) {
	dir := t.TempDir()
	if err := release.Init(dir, now); err != nil {
		t.Fatal(err)
	}
	if err := release.Publish(dir, version, map[release.Kind]string{release.KindLinux: bin}, now); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/releases", release.Handler(filepath.Join(dir, release.RepositoryDir))))
	t.Cleanup(srv.Close)
	root, err := os.ReadFile(filepath.Join(dir, release.RepositoryDir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, release.Client{TrustedRoot: root, BaseURL: srv.URL + "/releases", CacheDir: t.TempDir()}
}

func snapshotOf(t *testing.T, u *Updater) string {
	st, err := u.Status()
	if err != nil {
		t.Fatal(err)
	}
	link, _ := os.Readlink(filepath.Join(u.Dir, "current"))
	return strings.Join(versionsOnDisk(t, u.Dir), ",") + " current=" + link + " state=" + st.Current + "/" + st.Previous
}

func TestSignedReleaseAppliedThroughTheSupervisor(t *testing.T) {
	s, u := newFleetPC(t, 5*time.Second)
	_, c := hubRepo(t, time.Now(), "2.0.0", build(t, "2.0.0", "good"))
	v, err := u.CheckAndApply(c, release.KindLinux, "1.0.0", "")
	if err != nil || v != "2.0.0" {
		t.Fatalf("check and apply: %q %v", v, err)
	}
	s.kill(syscall.SIGTERM)
	s.waitRunning("2.0.0")
	waitState(t, u, func(st State) bool { return st.Trial != nil && st.Trial.Healthy })
}

func TestTamperedReleaseChangesNothing(t *testing.T) {
	_, u := newFleetPC(t, 5*time.Second)
	dir, c := hubRepo(t, time.Now(), "2.0.0", build(t, "2.0.0", "good"))
	evil := build(t, "2.0.0", "crash")
	data, _ := os.ReadFile(evil)
	if err := os.WriteFile(filepath.Join(dir, release.RepositoryDir, "targets", "2.0.0", "motcua-agent-linux-amd64"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(t, u)
	if _, err := u.CheckAndApply(c, release.KindLinux, "1.0.0", ""); err == nil {
		t.Fatal("a tampered target was applied")
	}
	if after := snapshotOf(t, u); after != before {
		t.Fatalf("changed: %s -> %s", before, after)
	}
}

func TestExpiredHubMetadataChangesNothing(t *testing.T) {
	_, u := newFleetPC(t, 5*time.Second)
	_, c := hubRepo(t, time.Now().Add(-release.TimestampExpiry-time.Hour), "2.0.0", build(t, "2.0.0", "good"))
	before := snapshotOf(t, u)
	_, err := u.CheckAndApply(c, release.KindLinux, "1.0.0", "")
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired metadata: %v", err)
	}
	if after := snapshotOf(t, u); after != before {
		t.Fatalf("changed: %s -> %s", before, after)
	}
}

func TestRolledBackVersionNotReapplied(t *testing.T) {
	s, u := newFleetPC(t, time.Minute)
	_, c := hubRepo(t, time.Now(), "2.0.0", build(t, "2.0.0", "crash"))
	if _, err := u.CheckAndApply(c, release.KindLinux, "1.0.0", ""); err != nil {
		t.Fatal(err)
	}
	s.kill(syscall.SIGTERM)
	s.waitRunning("1.0.0")
	if _, err := u.CheckAndApply(c, release.KindLinux, "1.0.0", ""); err == nil || !strings.Contains(err.Error(), "rolled back here before") {
		t.Fatalf("re-apply of a rolled-back version: %v", err)
	}
}
