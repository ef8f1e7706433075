package installtest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// `make run` as a newcomer meets it (packaging/demo/run.sh, which the target runs): a
// hub and the demo agent on one machine, every page printed with a token that opens
// it, the demo's counters at the hub, and Ctrl-C stopping both.
func TestMakeRunChain(t *testing.T) {
	requireLinuxAmd64(t)
	binDir := t.TempDir()
	for name, pkg := range map[string]string{"motcua-agent": mainPackage, "motcua-hub": "./sync/cmd/motcua-hub"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	data := t.TempDir()
	agentAddr, hubAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command("bash", filepath.Join(repoRoot, "packaging", "demo", "run.sh"))
	cmd.Env = append(os.Environ(), "BIN="+binDir, "MOTCUA_DEMO_DATA="+data, "MOTCUA_DEMO_LISTEN="+agentAddr, "MOTCUA_DEMO_HUB="+hubAddr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the whole group
	out, _ := cmd.StderrPipe()
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}()

	// The banner: every line up to "Stop with Ctrl-C."
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	var banner []string
	deadline := time.After(90 * time.Second)
collect:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before its banner:\n%s", strings.Join(banner, "\n"))
			}
			banner = append(banner, l)
			if strings.Contains(l, "Stop with Ctrl-C.") {
				break collect
			}
		case <-deadline:
			t.Fatalf("no banner within 90 s:\n%s", strings.Join(banner, "\n"))
		}
	}
	go func() {
		for range lines {
		}
	}()
	text := strings.Join(banner, "\n")
	hubPage := regexp.MustCompile(`The province's hub: (http://\S+)`).FindStringSubmatch(text)
	pages := regexp.MustCompile(`(http://`+regexp.QuoteMeta(agentAddr)+`/\S*token=\S+)`).FindAllString(text, -1)
	if hubPage == nil || len(pages) < 6 {
		t.Fatalf("the banner lacks the hub or the pages:\n%s", text)
	}
	for _, want := range []string{"/counter?counter=1&token=", "/counter?counter=3&token=", "/kiosk?token=", "/display?token=", "/clinic/reception?station=quay-1&token="} {
		if !strings.Contains(text, want) {
			t.Errorf("the banner lacks %s", want)
		}
	}
	for _, u := range append(pages, hubPage[1]) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
	// The demo's counters reach the hub: the fleet shows the demo PC having pushed.
	token := hubPage[1][strings.Index(hubPage[1], "token=")+len("token="):]
	testkit.Eventually(t, 60*time.Second, func() bool {
		resp, err := http.Get("http://" + hubAddr + "/api/v1/fleet?token=" + token)
		if err != nil {
			return false
		}
		var fleet []struct {
			Device string `json:"device"`
			Pushes int64  `json:"pushes"`
		}
		json.NewDecoder(resp.Body).Decode(&fleet)
		resp.Body.Close()
		for _, a := range fleet {
			if a.Device == "demo-pc-1" && a.Pushes > 0 {
				return true
			}
		}
		return false
	}, "the demo agent to push to the demo hub")
	// Ctrl-C: both stop, nothing is left listening.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30 s of Ctrl-C")
	}
	for _, addr := range []string{agentAddr, hubAddr} {
		if c, err := http.Get("http://" + addr + "/healthz"); err == nil {
			c.Body.Close()
			t.Errorf("%s still answers after Ctrl-C", addr)
		}
	}
}
