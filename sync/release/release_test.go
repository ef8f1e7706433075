package release

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repo is a release folder served over real HTTP on loopback, as the hub serves it.
type repo struct {
	dir string
	srv *httptest.Server
}

func newRepo(t *testing.T, now time.Time) *repo {
	t.Helper()
	dir := t.TempDir()
	if err := Init(dir, now); err != nil {
		t.Fatal(err)
	}
	r := &repo{dir: dir}
	r.srv = httptest.NewServer(http.StripPrefix("/releases", Handler(filepath.Join(dir, RepositoryDir))))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *repo) client(t *testing.T, cache string, now time.Time) Client {
	root, err := os.ReadFile(filepath.Join(r.dir, RepositoryDir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return Client{TrustedRoot: root, BaseURL: r.srv.URL + "/releases", CacheDir: cache, Now: func() time.Time { return now }}
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInitWritesPrivateKeysOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{RootKeyFile, ReleaseKeyFile, HubKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if err := Init(dir, time.Now()); err == nil {
		t.Fatal("a second init over an existing root key was accepted")
	}
}

func TestGoodReleaseIsVerified(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.2.0", map[Kind]string{KindLinux: writeFile(t, "agent 1.2.0"), KindWindowsExe: writeFile(t, "exe 1.2.0")}, now); err != nil {
		t.Fatal(err)
	}
	f, err := r.client(t, t.TempDir(), now).Check(KindLinux, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != "1.2.0" || string(f.Data) != "agent 1.2.0" || f.Name != "motcua-agent-linux-amd64" {
		t.Fatalf("got %+v", f)
	}
	f, err = r.client(t, t.TempDir(), now).Check(KindWindowsExe, "dev")
	if err != nil || string(f.Data) != "exe 1.2.0" {
		t.Fatalf("exe: %v %q", err, f.Data)
	}
}

func TestPublishRefusesVersionNotGreater(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "2.0.0", map[Kind]string{KindLinux: writeFile(t, "a")}, now); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2.0.0", "1.9.9", "2.0"} {
		err := Publish(r.dir, v, map[Kind]string{KindLinux: writeFile(t, "b")}, now)
		if err == nil || !strings.Contains(err.Error(), "only move forward") {
			t.Errorf("publish %s: %v, want refused", v, err)
		}
	}
	if err := Publish(r.dir, "80b9df3-dirty", map[Kind]string{KindLinux: writeFile(t, "b")}, now); err == nil {
		t.Error("a git-describe build was published as a release")
	}
}

func TestCheckRefusesNotNewer(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.2.0", map[Kind]string{KindLinux: writeFile(t, "a")}, now); err != nil {
		t.Fatal(err)
	}
	for _, running := range []string{"1.2.0", "1.3.0"} {
		_, err := r.client(t, t.TempDir(), now).Check(KindLinux, running)
		if !errors.Is(err, ErrNotNewer) {
			t.Errorf("running %s: %v, want ErrNotNewer", running, err)
		}
	}
	if _, err := r.client(t, t.TempDir(), now).Check(KindDeb, "1.0.0"); !errors.Is(err, ErrNotNewer) {
		t.Errorf("kind with no release: %v", err)
	}
}

func TestCheckRefusesTamperedTarget(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.2.0", map[Kind]string{KindLinux: writeFile(t, "good binary")}, now); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(r.dir, RepositoryDir, "targets", "1.2.0", "motcua-agent-linux-amd64")
	if err := os.WriteFile(p, []byte("evil binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.client(t, t.TempDir(), now).Check(KindLinux, "1.0.0")
	if err == nil || !strings.Contains(err.Error(), "download") {
		t.Fatalf("tampered target: %v, want refused", err)
	}
}

func TestCheckRefusesExpiredTimestamp(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.2.0", map[Kind]string{KindLinux: writeFile(t, "a")}, now); err != nil {
		t.Fatal(err)
	}
	// The hub stopped refreshing: a day and a minute later the fleet refuses it.
	_, err := r.client(t, t.TempDir(), now.Add(TimestampExpiry+time.Minute)).Check(KindLinux, "1.0.0")
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired timestamp: %v, want refused as expired", err)
	}
	// One refresh by the hub's key makes it current again.
	later := now.Add(TimestampExpiry + time.Minute)
	if err := Refresh(r.dir, later); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client(t, t.TempDir(), later).Check(KindLinux, "1.0.0"); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
}

func TestCheckRefusesReplayedOlderMetadata(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := Publish(r.dir, "1.2.0", map[Kind]string{KindLinux: writeFile(t, "a")}, now); err != nil {
		t.Fatal(err)
	}
	old := t.TempDir()
	copyDir(t, filepath.Join(r.dir, RepositoryDir), old)
	if err := Publish(r.dir, "1.3.0", map[Kind]string{KindLinux: writeFile(t, "b")}, now); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if f, err := r.client(t, cache, now).Check(KindLinux, "1.0.0"); err != nil || f.Version != "1.3.0" {
		t.Fatalf("newest: %v %+v", err, f)
	}
	// A compromised or restored hub serves the older, still unexpired repository.
	repo := filepath.Join(r.dir, RepositoryDir)
	if err := os.RemoveAll(repo); err != nil {
		t.Fatal(err)
	}
	copyDir(t, old, repo)
	_, err := r.client(t, cache, now).Check(KindLinux, "1.0.0")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("replayed metadata: %v, want refused", err)
	}
}

func TestCheckRefusesTargetsSignedByHubKey(t *testing.T) {
	// A stolen hub key cannot make a release: targets.json needs the release key.
	now := time.Now()
	r := newRepo(t, now)
	hub, err := os.ReadFile(filepath.Join(r.dir, HubKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, ReleaseKeyFile), hub, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Publish(r.dir, "9.0.0", map[Kind]string{KindLinux: writeFile(t, "evil")}, now); err != nil {
		t.Fatal(err)
	}
	_, err = r.client(t, t.TempDir(), now).Check(KindLinux, "1.0.0")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("targets signed by the hub key: %v, want refused", err)
	}
}

func TestHandlerServesOnlyTheRepository(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	if err := os.WriteFile(filepath.Join(r.dir, RepositoryDir, ".secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/releases/timestamp.json":              200,
		"/releases/1.root.json":                 200,
		"/releases/../hub.key":                  404,
		"/releases/%2e%2e/hub.key":              404,
		"/releases/.secret":                     404,
		"/releases/targets/":                    404,
		"/releases/targets/x/..%2f..%2fhub.key": 404,
	} {
		resp, err := http.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post(r.srv.URL+"/releases/timestamp.json", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.0", "1.10.0", -1}, {"2.0", "2.0.0", 0}, {"v1.3", "1.2.9", 1}, {"dev", "0.0.1", -1}, {"1.0.0", "80b9df3", 1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := exec.Command("cp", "-a", src+"/.", dst).Run(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckForOneVersion(t *testing.T) {
	now := time.Now()
	r := newRepo(t, now)
	for _, v := range []string{"1.2.0", "1.3.0"} {
		if err := Publish(r.dir, v, map[Kind]string{KindLinux: writeFile(t, "agent "+v)}, now); err != nil {
			t.Fatal(err)
		}
	}
	f, err := r.client(t, t.TempDir(), now).CheckFor(KindLinux, "1.0.0", "1.2.0")
	if err != nil || f.Version != "1.2.0" || string(f.Data) != "agent 1.2.0" {
		t.Fatalf("want 1.2.0: %+v %v", f, err)
	}
	if _, err := r.client(t, t.TempDir(), now).CheckFor(KindLinux, "1.0.0", "1.4.0"); err == nil || !strings.Contains(err.Error(), "no linux file of version 1.4.0") {
		t.Fatalf("unpublished version: %v", err)
	}
	if _, err := r.client(t, t.TempDir(), now).CheckFor(KindLinux, "1.3.0", "1.2.0"); !errors.Is(err, ErrNotNewer) {
		t.Fatalf("older than running: %v", err)
	}
}
