package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"motcua-agent/drivers/bhyt"
	"motcua-agent/internal/testkit"
)

// TestSimAndCheckCommands runs `sim bhyt` and, against it, `bhyt check` with a site
// config, as a technician would.
func TestSimAndCheckCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	accounts := filepath.Join(dir, "secret", "bhyt-accounts.yaml")
	if err := os.MkdirAll(filepath.Dir(accounts), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var simOut, simErr testkit.Buffer
	done := make(chan int, 1)
	go func() {
		done <- bhytSimCommand(ctx, []string{"--listen", "127.0.0.1:0", "--accounts-out", accounts}, &simOut, &simErr)
	}()
	addrRe := regexp.MustCompile(`on (http://127\.0\.0\.1:[0-9]+)`)
	var gateway string
	testkit.Eventually(t, 10*time.Second, func() bool {
		if m := addrRe.FindStringSubmatch(simOut.String()); m != nil && strings.Contains(simOut.String(), "cards") {
			gateway = m[1]
		}
		return gateway != ""
	}, "sim bhyt to start: %s %s", simOut.String, simErr.String)
	for _, c := range bhyt.SimCards() {
		if !strings.Contains(simOut.String(), c.ID+" | "+c.Name) {
			t.Fatalf("sim bhyt does not list card %s", c.Code)
		}
	}
	cfg := filepath.Join(dir, "site.yaml")
	os.WriteFile(cfg, []byte(`profile: clinic
site: {province_code: "79", commune_code: "26734", id: tram, name: Trạm Y tế, device_id: pc-1}
clinic: {enabled: true, gateway: `+gateway+`, accounts_file: secret/bhyt-accounts.yaml, stations: [{id: a, operator: dd-lan}]}
`), 0o600)

	card := bhyt.SimCards()[0]
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := bhytCommand(context.Background(), append([]string{"check"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("--config", cfg, "--id", card.ID, "--name", card.Name, "--dob", card.Birth)
	if code != 0 || !strings.Contains(out, "result:     000 (valid)") || !strings.Contains(out, card.Number+", valid 01/01/2026 to 31/12/2026") {
		t.Fatalf("check: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("--gateway", gateway, "--accounts", accounts, "--operator", "dd-hoa", "--form", "--json",
		"--card", bhyt.SimCards()[6].Number, "--name", bhyt.SimCards()[6].Name, "--dob", strings.ReplaceAll(bhyt.SimCards()[6].Birth, "/", ""))
	var a bhyt.Answer
	if err := json.Unmarshal([]byte(out), &a); code != 0 || err != nil || a.Code != "010" || a.Reason != bhyt.ReasonExpired {
		t.Fatalf("check --json: %d %v %s", code, err, out)
	}
	// A nurse signing in with the facility's account (named by her own name and ID), a
	// card with month and year of birth only; the gateway's ghiChu is not printed.
	na := bhyt.SimCards()[18]
	code, out, errOut = run("--gateway", gateway, "--accounts", accounts, "--operator", "dd-thu", "--id", na.ID, "--name", na.Name, "--dob", na.Birth)
	if code != 0 || !strings.Contains(out, "result:     000 (valid)") || strings.Contains(out, "Họ tên:") || !strings.Contains(out, "success:    yes") {
		t.Fatalf("check via the facility account: %d\n%s%s", code, out, errOut)
	}
	// Faults through the simulator's own control, as in the demo.
	resp, err := http.Post(gateway+"/sim/faults", "application/json", strings.NewReader(`{"down":true}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("set faults: %v %v", err, resp)
	}
	resp.Body.Close()
	code, out, errOut = run("--config", cfg, "--timeout", "2s", "--id", card.ID, "--name", card.Name, "--dob", card.Birth)
	if code != 1 || !strings.Contains(errOut, "no answer (unavailable)") || strings.Contains(errOut+out, card.Name) {
		t.Fatalf("gateway down: %d %q %q", code, out, errOut)
	}
	for _, args := range [][]string{
		{"--id", card.ID, "--name", card.Name},                                                    // no birth date
		{"--config", cfg, "--id", card.ID, "--card", card.Number, "--name", "a", "--dob", "1990"}, // both numbers
		{"--config", cfg, "--id", card.ID, "--name", card.Name, "--dob", "31/02/1985"},            // impossible date
		{"--config", cfg, "--operator", "khong-co", "--id", card.ID, "--name", "a", "--dob", "1990"},
	} {
		if code, _, errOut := run(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q, want a usage error", args, code, errOut)
		}
	}
	cancel()
	select {
	case c := <-done:
		if c != 0 {
			t.Fatalf("sim bhyt exit %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim bhyt did not stop")
	}
	var ex bytes.Buffer
	if bhytCommand(context.Background(), []string{"accounts-example"}, &ex, &ex) != 0 || !strings.Contains(ex.String(), "operators:") {
		t.Fatalf("accounts-example: %s", ex.String())
	}
	if bhytCommand(context.Background(), []string{"chek"}, &ex, &ex) != 2 {
		t.Fatal("an unknown subcommand is not a usage error")
	}
}
