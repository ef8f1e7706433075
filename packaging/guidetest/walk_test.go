package guidetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"motcua-agent/internal/testkit"
)

const version = "1.2.3"

// placeholders are the guide's words a technician replaces with their own.
var placeholders = strings.NewReplacer("VERSION", version, "MA_DIEM", "ubnd-phuong-vinh-phu", "MAY_CHU", "127.0.0.1")

// wantSkipped is every command of the guide that this machine cannot run, in order:
// Windows (the installer, the service and Edge; packaging/installtest runs the Windows
// binary and installer under wine), an editor, systemd and a PostgreSQL server. Adding a command to the guide that cannot run here means
// adding it here too. Beside those: what needs an officer typing an ID number or PIN, a
// release signed on the offline PC, or the technician's own configuration file.
var wantSkipped = []string{
	`motcua-agent-setup.exe /CONFIG=D:\site.yaml`,
	`motcua-agent-setup.exe /S /CONFIG=\\may-chu\chia-se\xa-16681\quay-1.yaml`,
	`cd "C:\Program Files\motcua-agent"`,
	`motcua-agent config check C:\ProgramData\motcua-agent\site.yaml`,
	`motcua-agent service restart`,
	`msedge --app="http://127.0.0.1:8606/identity/panel?counter=1&token=MA" --window-size=520,720`,
	`motcua-agent staff key --config site.yaml`,
	`motcua-agent staff hash --config site.yaml`,
	`motcua-agent staff hash --config site.yaml --pin --officer nv01`,
	`"C:\Program Files\motcua-agent\uninstall.exe" /S (giữ dữ liệu)`,
	`"C:\Program Files\motcua-agent\uninstall.exe" /S /PURGE (xóa cả dữ liệu)`,
	`sudo nano /etc/motcua-agent/site.yaml`,
	`sudo systemctl start motcua-agent`,
	`sudo nano /etc/motcua-agent/site.yaml`,
	`sudo systemctl restart motcua-agent`,
	`createuser --pwprompt motcua && createdb --owner motcua motcua_hub`,
	`sudo systemctl restart motcua-hub`,
	`sudo motcua-hub rollout start --release 2.0.0 --percent 0 --canary MA_DIEM_1,MA_DIEM_2 --releases /var/lib/motcua-hub/releases`,
	`sudo motcua-hub rollout advance --percent 10 # rồi 50, rồi 100`,
	`sudo motcua-hub rollout status`,
	`sudo motcua-hub config publish --site MA_DIEM tep-cau-hinh.yaml # một điểm`,
	`sudo motcua-hub config publish --commune "Phường …" tep-cau-hinh.yaml # mọi điểm của xã, phường`,
	`sudo motcua-hub config publish --all tep-cau-hinh.yaml # cả tỉnh`,
}

// sandbox is a private mount and network namespace in which /etc, /usr and /var are
// overlays of this machine's (what is written there vanishes with the namespace) and
// loopback is its own (the guide's ports 8606 and 8607 are free).
type sandbox struct {
	t      *testing.T
	holder *exec.Cmd // keeps the namespaces alive
	dir    string    // the technician's working folder: the .deb files
	home   string
	procs  []*exec.Cmd
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the guide's sandbox (mount and network namespaces, overlays) needs root")
	}
	// The sandbox's /var is an overlay of this host's: no package may be half installed
	// on the host (packaging/installtest) while the guide's apt reads it.
	testkit.HostLock(t, "dpkg")
	for _, tool := range []string{"unshare", "nsenter", "runuser", "dpkg-deb", "apt-get", "useradd", "curl", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (Debian packages util-linux, dpkg, apt, passwd, curl, iproute2)", tool)
		}
	}
	top := t.TempDir()
	var mounts []string
	for _, d := range []string{"etc", "usr", "var"} {
		up, work := filepath.Join(top, d+"-up"), filepath.Join(top, d+"-work")
		os.MkdirAll(up, 0o755)
		os.MkdirAll(work, 0o755)
		mounts = append(mounts, fmt.Sprintf("mount -t overlay overlay -o lowerdir=/%s,upperdir=%s,workdir=%s /%s", d, up, work, d))
	}
	script := strings.Join(mounts, " && ") +
		// No systemd here: the maintainer scripts see none and leave starting to the test.
		` && { [ ! -d /run/systemd ] || mount -t tmpfs tmpfs /run/systemd; }` +
		` && ip link set lo up && useradd --create-home --home-dir ` + filepath.Join(top, "home") + ` kythuat` +
		` && install -d -o kythuat -m 0700 ` + filepath.Join(top, "home", "tmp") + ` && echo ready && exec sleep 86400`
	s := &sandbox{t: t, dir: filepath.Join(top, "work"), home: filepath.Join(top, "home")}
	os.MkdirAll(s.dir, 0o755)
	s.holder = exec.Command("unshare", "--mount", "--net", "--propagation", "private", "--", "sh", "-c", script)
	out, _ := s.holder.StdoutPipe()
	s.holder.Stderr = os.Stderr
	if err := s.holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Skipf("could not make the sandbox (mount/network namespaces with overlays): %q %v", line, err)
	}
	os.Chmod(filepath.Dir(top), 0o755) // the technician's own account works in it too
	os.Chmod(top, 0o755)
	os.Chmod(s.dir, 0o777)
	return s
}

func (s *sandbox) close() {
	for _, p := range s.procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGTERM) // its whole process group
		p.Wait()
	}
	// Whatever the technician's account still runs (the board's Chromium and its
	// helpers, which may have left the group) ends before the folders are removed: a
	// browser still writing its profile makes the removal fail.
	if st, err := os.Stat(s.home); err == nil {
		uid := fmt.Sprint(st.Sys().(*syscall.Stat_t).Uid)
		testkit.Eventually(s.t, 30*time.Second, func() bool {
			exec.Command("pkill", "-KILL", "-U", uid).Run()
			return exec.Command("pgrep", "-U", uid).Run() != nil
		}, "the technician's processes (uid %s) never ended", uid)
	}
	s.holder.Process.Kill()
	s.holder.Wait()
}

// enter is a command run inside the namespaces.
func (s *sandbox) enter(argv ...string) *exec.Cmd {
	pid := fmt.Sprint(s.holder.Process.Pid)
	cmd := exec.Command("nsenter", append([]string{"-t", pid, "-m", "-n", "--wd=" + s.dir, "--"}, argv...)...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.home, "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// technician is a command run inside the namespaces as the technician's own account.
func (s *sandbox) technician(argv ...string) *exec.Cmd {
	cmd := s.enter(append([]string{"runuser", "-u", "kythuat", "--"}, argv...)...)
	// A Debian /tmp is open to every account (1777); this host's may not be (a
	// container's is often 0755, where xvfb-run's mktemp fails): the technician's
	// temporary files go to a folder of their own instead.
	cmd.Env = append(cmd.Env, "TMPDIR="+filepath.Join(s.home, "tmp"))
	return cmd
}

// shell runs one line of the guide as the technician would type it: a line that
// starts with sudo as root, any other as the technician's own account (kythuat).
func (s *sandbox) shell(line string) (string, error) {
	var cmd *exec.Cmd
	if rest, ok := strings.CutPrefix(line, "sudo "); ok {
		cmd = s.enter("bash", "-c", rest)
	} else {
		cmd = s.technician("bash", "-c", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-ctx.Done():
		cmd.Process.Kill()
		return buf.String(), fmt.Errorf("no end within 3 minutes")
	}
}

// unit starts an installed systemd unit's command lines as its User, the way systemd
// would (ExecStartPre to its end, then ExecStart in the background); nothing else of
// the unit (sandboxing, restarts) is imitated.
func (s *sandbox) unit(name string) *exec.Cmd {
	t := s.t
	t.Helper()
	text, err := s.shell("sudo cat /lib/systemd/system/" + name + ".service")
	if err != nil {
		t.Fatalf("the package did not install %s.service: %v %s", name, err, text)
	}
	field := func(key string) string {
		m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindStringSubmatch(text)
		if m == nil {
			return ""
		}
		return m[1]
	}
	user := field("User")
	if pre := field("ExecStartPre"); pre != "" {
		out, err := s.enter(append([]string{"runuser", "-u", user, "--"}, strings.Fields(pre)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s ExecStartPre: %v\n%s", name, err, out)
		}
	}
	cmd := s.enter(append([]string{"runuser", "-u", user, "--"}, strings.Fields(field("ExecStart"))...)...)
	log, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.procs = append(s.procs, cmd)
	return cmd
}

func (s *sandbox) stop(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	cmd.Wait()
}

// answers waits until url answers inside the sandbox with curl.
func (s *sandbox) answers(url, what string) {
	s.t.Helper()
	testkit.Eventually(s.t, 30*time.Second, func() bool {
		return s.enter("curl", "-sf", "-o", "/dev/null", url).Run() == nil
	}, "%s does not answer at %s (log in %s)", what, url, s.dir)
}

// build makes the two Debian packages from this tree, as make dist does.
func build(t *testing.T, dir string) (agentBin string) {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	bin := t.TempDir()
	for name, pkg := range map[string]string{"motcua-agent": "./agent/cmd/motcua-agent", "motcua-hub": "./sync/cmd/motcua-hub"} {
		cmd := exec.Command("go", "build", "-ldflags", "-X motcua-agent/agent/app.Version="+version, "-o", filepath.Join(bin, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		if out, err := exec.Command("bash", filepath.Join(root, "packaging", "deb", "build-deb.sh"), filepath.Join(bin, name), version, dir).CombinedOutput(); err != nil {
			t.Fatalf("build-deb.sh %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(bin, "motcua-agent")
}

// paste puts the lines `motcua-hub enroll` printed into the agent's config in place of
// site.id, site.device_id and the sync section, as the guide tells the technician to.
func paste(t *testing.T, config, printed []byte) []byte {
	t.Helper()
	var cfg, lines map[string]any
	if err := yaml.Unmarshal(config, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(printed, &lines); err != nil {
		t.Fatalf("the printed lines are not yaml: %v\n%s", err, printed)
	}
	site := cfg["site"].(map[string]any)
	for k, v := range lines["site"].(map[string]any) {
		site[k] = v
	}
	cfg["sync"] = lines["sync"]
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGuideAsWritten: a technician with the two Debian packages and the guide sets up
// a province's hub and a counter PC on Debian, enrolls the PC, pushes its first
// numbers and opens the hub's page with its token. Every command block of the guide
// runs as written, in order (placeholders filled in); a command that fails fails the
// test. Each yaml block of the guide, put in the counter example, passes config check.
func TestGuideAsWritten(t *testing.T) {
	blocks := readGuide(t)
	s := newSandbox(t)
	agentBin := build(t, s.dir)

	var skipped []string
	var reportToken string
	var printed []byte
	var agent *exec.Cmd
	ran := 0
	var board string // the display board's browser: run once the agent of section 10 is up
	for _, b := range blocks {
		if b.yaml {
			checkFragment(t, agentBin, b, printed)
			continue
		}
		for _, raw := range b.commands {
			cmd := placeholders.Replace(raw)
			if strings.HasPrefix(raw, "chromium ") && b.skipped(raw) == "" {
				board = raw
				continue
			}
			if why := b.skipped(raw); why != "" {
				skipped = append(skipped, raw)
				// What the technician does instead of the skipped command, here.
				switch {
				case strings.HasPrefix(raw, "sudo nano /etc/motcua-agent/site.yaml") && printed != nil:
					conf, err := s.shell("sudo cat /etc/motcua-agent/site.yaml")
					if err != nil {
						t.Fatal(err)
					}
					f := filepath.Join(s.dir, "site.yaml.new")
					os.WriteFile(f, paste(t, []byte(conf), printed), 0o644)
					if out, err := s.shell("sudo cp " + f + " /etc/motcua-agent/site.yaml"); err != nil {
						t.Fatal(out)
					}
				case strings.HasPrefix(raw, "sudo systemctl start motcua-agent"), strings.HasPrefix(raw, "sudo systemctl restart motcua-agent"):
					if agent != nil {
						s.stop(agent)
					}
					agent = s.unit("motcua-agent")
					s.answers("http://127.0.0.1:8606/healthz", "the agent")
				}
				continue
			}
			out, err := s.shell(cmd)
			t.Logf("guide line %d: $ %s\n%s", b.line, cmd, out)
			if err != nil {
				where, _ := s.shell("sudo pwd; ls -la")
				t.Fatalf("guide line %d: %q failed: %v\n%s\n(in %s)", b.line, cmd, err, out, where)
			}
			ran++
			switch {
			case strings.HasPrefix(raw, "sudo apt install ./motcua-hub_"):
				// The package's postinst starts the service where systemd runs.
				s.unit("motcua-hub")
				s.answers("http://127.0.0.1:8607/healthz", "the hub")
			case strings.HasPrefix(raw, "sudo cat /etc/motcua-hub/report-token"):
				reportToken = strings.TrimSpace(out)
			case strings.HasPrefix(raw, "sudo motcua-hub enroll"):
				if i := strings.Index(out, "site:"); i >= 0 {
					printed = []byte(out[i:])
				}
			case strings.HasPrefix(raw, "sudo motcua-agent sync now"):
				if !regexp.MustCompile(`(?m)^State:\s+OK$`).MatchString(out) {
					t.Errorf("the first sync does not say State: OK, as the guide says it will:\n%s", out)
				}
			}
		}
	}
	if got, want := strings.Join(skipped, "\n"), strings.Join(wantSkipped, "\n"); got != want {
		t.Errorf("the guide's commands not run here:\n%s\nwant:\n%s", got, want)
	}
	if reportToken == "" || printed == nil || agent == nil {
		t.Fatalf("the guide never gave the report token (%q), the enrollment's lines (%q) or a running agent", reportToken, printed)
	}
	// The hub's page, at the address the guide gives, with its token: it opens, and the
	// enrolled counter PC has pushed.
	page, err := s.enter("curl", "-sf", "http://127.0.0.1:8607/?token="+reportToken).Output()
	if err != nil || !strings.Contains(string(page), "<html") {
		t.Fatalf("the hub's page with its token: %v\n%.300s", err, page)
	}
	if err := s.enter("curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:8607/").Run(); err == nil {
		t.Error("the hub's page opens without its token")
	}
	fleet, err := s.enter("curl", "-sf", "http://127.0.0.1:8607/api/v1/fleet?token="+reportToken).Output()
	if err != nil || !regexp.MustCompile(`"device":"quay-1"[^}]*"pushes":[1-9]`).Match(fleet) {
		t.Fatalf("the hub's fleet after the first sync: %v\n%s", err, fleet)
	}
	// The board's browser as the guide starts it (on a screen: Xvfb here), as the
	// technician's own account, with the display token for MA: the board can speak, and
	// the agent's dashboard says its sound is on.
	if board == "" {
		t.Fatal("the guide has no command for the display board's browser")
	}
	token := func(role string) string {
		out, err := s.shell("sudo cat /var/lib/motcua-agent/tokens/" + role)
		if err != nil {
			t.Fatalf("the %s token: %v %s", role, err, out)
		}
		return strings.TrimSpace(out)
	}
	// The technician's desktop: a screen started by root (on a host whose /tmp is not
	// open to every account, Xvfb as the technician could not write its lock file there).
	screen := s.enter("Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24")
	screenOut, _ := screen.StdoutPipe()
	if err := screen.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	s.procs = append(s.procs, screen)
	display, err := bufio.NewReader(screenOut).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb never said its display: %v", err)
	}
	browser := s.technician("bash", "-c", strings.Replace(board, "token=MA", "token="+token("display"), 1))
	browser.Env = append(browser.Env, "DISPLAY=:"+strings.TrimSpace(display))
	browserLog, _ := os.Create(filepath.Join(s.dir, "board.log"))
	browser.Stdout, browser.Stderr = browserLog, browserLog
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	s.procs = append(s.procs, browser)
	ran++
	admin := token("admin")
	var dashboard []byte
	testkit.Eventually(t, 60*time.Second, func() bool {
		dashboard, _ = s.enter("curl", "-sf", "-H", "Authorization: Bearer "+admin, "http://127.0.0.1:8606/api/v1/dashboard").Output()
		return bytes.Contains(dashboard, []byte("Loa của 1 màn hình gọi số đã bật"))
	}, "the board opened by the guide's command never reported its sound on:\n%s\nits browser's log:\n%s",
		func() string { return string(dashboard) },
		func() string { log, _ := os.ReadFile(filepath.Join(s.dir, "board.log")); return string(log) })
	t.Logf("%d commands of the guide run as written, %d not run here", ran, len(skipped))
}

// checkFragment: a yaml block of the guide, put in the packaged counter config (its
// sections replacing the example's, its keys merged into site), passes config check.
func checkFragment(t *testing.T, bin string, b block, printed []byte) {
	t.Helper()
	var frag map[string]any
	if err := yaml.Unmarshal([]byte(b.text), &frag); err != nil {
		t.Fatalf("guide line %d: the yaml block does not parse: %v", b.line, err)
	}
	example, err := exec.Command(bin, "config", "example", "counter").Output()
	if err != nil {
		t.Fatal(err)
	}
	if printed != nil {
		// Past the enrollment, the counter's file carries the lines it printed.
		example = paste(t, example, printed)
	}
	var cfg map[string]any
	yaml.Unmarshal(example, &cfg)
	merge(cfg, frag)
	out, _ := yaml.Marshal(cfg)
	f := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(f, out, 0o600)
	if got, err := exec.Command(bin, "config", "check", f).CombinedOutput(); err != nil {
		t.Errorf("guide line %d: the yaml block in a config fails config check: %v\n%s", b.line, err, got)
	}
}

// merge puts src's keys into dst, maps merged key by key, anything else replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
