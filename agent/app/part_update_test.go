package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/agent/update"
	"motcua-agent/agent/web"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/release"
	"motcua-agent/sync/wire"
)

// The demo agent, its versions recorded as the service's boot records them, offered a
// signed 2.0.0 by its hub: while counter 1 serves a ticket nothing is applied (and it
// says to look again soon); once the ticket is finished 2.0.0 is switched in on trial,
// the agent stops to be restarted into it, and its heartbeat says so.
func TestUpdateWaitsUntilNoTicketIsServed(t *testing.T) {
	a, base := startDemoAgent(t)
	s := a.update
	self := filepath.Join(t.TempDir(), "motcua-agent")
	os.WriteFile(self, []byte("agent 1.0.0"), 0o755)
	if _, err := s.u.Boot(self, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	rel := t.TempDir()
	now := time.Now()
	bin := filepath.Join(t.TempDir(), "new")
	os.WriteFile(bin, []byte("agent 2.0.0"), 0o755)
	if err := release.Init(rel, now); err != nil {
		t.Fatal(err)
	}
	if err := release.Publish(rel, "2.0.0", map[release.Kind]string{update.Kind(): bin}, now); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/releases", release.Handler(filepath.Join(rel, release.RepositoryDir))))
	defer srv.Close()
	root, _ := os.ReadFile(filepath.Join(rel, release.RepositoryDir, "1.root.json"))
	s.rc = release.Client{TrustedRoot: root, BaseURL: srv.URL + "/releases", CacheDir: t.TempDir()}
	s.offered(&wire.ReleaseOffer{Version: "2.0.0", Rollout: "1/canary"})

	call := func(role web.Role, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+a.Tokens[role])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("%s: %v %v", path, resp.Status, err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
	}
	call("kiosk", "/api/v1/tickets", `{"service":"A"}`, nil)
	var tk struct{ Number int }
	call("counter", "/api/v1/counters/1/next", "", &tk)
	if !a.Serving() {
		t.Fatal("a called ticket is not seen as served")
	}
	if wait := s.try(); wait != busyRetry {
		t.Fatalf("while serving: look again in %s, want %s", wait, busyRetry)
	}
	if st, _ := s.u.Status(); st.Current != "1.0.0" || st.Trial != nil {
		t.Fatalf("applied while a ticket was served: %+v", st)
	}
	call("counter", fmt.Sprintf("/api/v1/tickets/%d/finish", tk.Number), "", nil)
	if a.Serving() {
		t.Fatal("a finished ticket is still seen as served")
	}
	s.try()
	st, _ := s.u.Status()
	if st.Current != "2.0.0" || st.Previous != "1.0.0" || st.Trial == nil || st.Trial.Version != "2.0.0" {
		t.Fatalf("after the ticket: %+v", st)
	}
	if us := s.state(); us.Trial != "2.0.0" || us.Running != a.Version {
		t.Fatalf("heartbeat: %+v", us)
	}
	got, _ := os.ReadFile(filepath.Join(a.Config.DataDir, "versions", "2.0.0", update.BinaryName()))
	if string(got) != "agent 2.0.0" {
		t.Fatalf("staged binary: %q", got)
	}
	// The agent stops so that the service manager restarts it as 2.0.0.
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, err := http.Get(base + "/healthz")
		return err != nil
	}, "the agent stopping after switching to 2.0.0")
}
