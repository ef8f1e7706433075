package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"motcua-agent/internal/pgtest"
	"motcua-agent/internal/testkit"
)

// The hub commands on PostgreSQL as an operator runs them: without --key-file the
// operator is told what to do; two hub processes share one database, so a device
// enrolled through one command and revoked through another shows revoked on both; a
// key that is not the database's is refused; the password never reaches the log.
func TestHubCommandsOnPostgres(t *testing.T) {
	u, err := url.Parse(pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2-not-logged") // trust auth ignores it
	dsn := u.String()
	dir := t.TempDir()
	key := filepath.Join(dir, "secrets.key")

	out, code := runHub(t, "enroll", "--db", dsn, "--site", "vinh-phu", "--device", "quay-1")
	if code != 1 || !strings.Contains(out, "--key-file") || strings.Contains(out, "hunter2") {
		t.Fatalf("enroll without a key file: exit %d:\n%s", code, out)
	}
	out, code = runHub(t, "enroll", "--db", dsn, "--key-file", key, "--site", "vinh-phu", "--device", "quay-1")
	if code != 0 || !strings.Contains(out, "secret:") {
		t.Fatalf("enroll: exit %d:\n%s", code, out)
	}
	var urls []string
	for range 2 {
		cmd := hubCmd("serve", "--listen", "127.0.0.1:0", "--key-file", key, "--open-fleet")
		cmd.Env = append(cmd.Env, "MOTCUA_HUB_DB="+dsn)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		line := testkit.WaitLine(t, stderr, regexp.MustCompile(`(hub listening.*)`))
		if strings.Contains(line, "hunter2") || !strings.Contains(line, "postgres://postgres:xxxxx@") {
			t.Fatalf("the log line shows the database as: %s", line)
		}
		urls = append(urls, regexp.MustCompile(`url=(http://\S+)`).FindStringSubmatch(line)[1])
	}
	if out, code := runHub(t, "revoke", "--db", dsn, "--key-file", key, "--device", "quay-1"); code != 0 {
		t.Fatalf("revoke: exit %d:\n%s", code, out)
	}
	for _, hubURL := range urls {
		resp, err := http.Get(hubURL + "/api/v1/fleet")
		if err != nil {
			t.Fatal(err)
		}
		var fleet []struct {
			Device  string `json:"device"`
			Revoked bool   `json:"revoked"`
		}
		err = json.NewDecoder(resp.Body).Decode(&fleet)
		resp.Body.Close()
		if err != nil || len(fleet) != 1 || fleet[0].Device != "quay-1" || !fleet[0].Revoked {
			t.Fatalf("fleet at %s: %+v %v; want quay-1 revoked", hubURL, fleet, err)
		}
	}
	other := filepath.Join(dir, "other.key")
	os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	out, code = runHub(t, "enroll", "--db", dsn, "--key-file", other, "--site", "vinh-phu", "--device", "quay-2")
	if code != 1 || !strings.Contains(out, "not the key of this database") {
		t.Fatalf("enroll with another key: exit %d:\n%s", code, out)
	}
}
