package update

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// build compiles testdata/fakeagent once per version and mode, as a release build would.
func build(t *testing.T, version, mode string) string {
	t.Helper()
	out := filepath.Join(binDir, version+"-"+mode)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+version+" -X main.mode="+mode, "./testdata/fakeagent")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build fakeagent: %v\n%s", err, b)
	}
	return out
}

var binDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "update-bins-")
	if err != nil {
		panic(err)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// supervisor restarts the agent the way systemd's Restart=always with
// ExecStartPre=PACKAGED update boot and ExecStart=DATA/versions/current/… does.
type supervisor struct {
	t        *testing.T
	launcher string // the packaged binary (/usr/bin/motcua-agent)
	dir      string
	env      []string
	mu       sync.Mutex
	proc     *os.Process
	started  chan string // "running V" lines, one per start that got that far
	starts   int
	stop     chan struct{}
	done     chan struct{}
}

func startSupervisor(t *testing.T, launcher, dir string, healthWindow time.Duration) *supervisor {
	s := &supervisor{t: t, launcher: launcher, dir: dir, started: make(chan string, 100), stop: make(chan struct{}), done: make(chan struct{}),
		env: append(os.Environ(), "FAKE_DIR="+dir, "FAKE_HEALTH_WINDOW="+healthWindow.String())}
	go s.loop()
	t.Cleanup(s.shutdown)
	return s
}

func (s *supervisor) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		s.mu.Lock()
		pre := exec.Command(s.launcher, "boot")
		s.mu.Unlock()
		pre.Env = s.env
		out, err := pre.Output()
		if err != nil {
			s.t.Logf("ExecStartPre failed: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		cmd := exec.Command(strings.TrimSpace(string(out)), "run")
		cmd.Env = s.env
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			s.t.Logf("ExecStart failed: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		s.proc = cmd.Process
		s.starts++
		s.mu.Unlock()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "running "); ok {
				s.started <- v
			}
		}
		cmd.Wait()
		time.Sleep(50 * time.Millisecond) // RestartSec, shortened
	}
}

func (s *supervisor) kill(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.Signal(sig)
	}
}

func (s *supervisor) shutdown() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.kill(syscall.SIGKILL)
	<-s.done
}

// waitRunning waits for the next start that reports a version.
func (s *supervisor) waitRunning(want string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-s.started:
			if v == want {
				return
			}
			s.t.Logf("started %s, waiting for %s", v, want)
		case <-deadline:
			s.t.Fatalf("version %s never started", want)
		}
	}
}

func newFleetPC(t *testing.T, healthWindow time.Duration) (*supervisor, *Updater) {
	dir := filepath.Join(t.TempDir(), "versions")
	s := startSupervisor(t, build(t, "1.0.0", "good"), dir, healthWindow)
	s.waitRunning("1.0.0")
	return s, &Updater{Dir: dir, Binary: "fakeagent", MaxStarts: 3, HealthWindow: healthWindow}
}

func waitState(t *testing.T, u *Updater, ok func(State) bool) State {
	t.Helper()
	var st State
	var err error
	testkit.Eventually(t, 10*time.Second, func() bool {
		st, err = u.Status()
		return err == nil && ok(st)
	}, "the state to be reached: %s", func() string { return fmt.Sprintf("%+v (%v)", st, err) })
	return st
}

func versionsOnDisk(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	return out
}

func applyFile(t *testing.T, u *Updater, bin, version string) {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Apply(version, data); err != nil {
		t.Fatal(err)
	}
}

func TestGoodUpdateCommitsAndKeepsTwoVersions(t *testing.T) {
	s, u := newFleetPC(t, 5*time.Second)
	applyFile(t, u, build(t, "2.0.0", "good"), "2.0.0")
	s.kill(syscall.SIGTERM) // the agent exits after Apply; the supervisor restarts it
	s.waitRunning("2.0.0")
	st := waitState(t, u, func(st State) bool { return st.Trial != nil && st.Trial.Healthy })
	if st.Current != "2.0.0" || st.Previous != "1.0.0" || st.Last == nil || st.Last.Outcome != OutcomeCommitted || st.Last.Version != "2.0.0" {
		t.Fatalf("after commit: %+v", st)
	}
	applyFile(t, u, build(t, "3.0.0", "good"), "3.0.0")
	s.kill(syscall.SIGTERM)
	s.waitRunning("3.0.0")
	waitState(t, u, func(st State) bool { return st.Current == "3.0.0" && st.Trial != nil && st.Trial.Healthy })
	if got := strings.Join(versionsOnDisk(t, u.Dir), ","); got != "2.0.0,3.0.0" {
		t.Fatalf("versions kept: %s, want the last two", got)
	}
}

func TestCrashAtStartRollsBackAfterMaxStarts(t *testing.T) {
	s, u := newFleetPC(t, time.Minute)
	applyFile(t, u, build(t, "2.0.0", "crash"), "2.0.0")
	s.kill(syscall.SIGTERM)
	s.waitRunning("1.0.0")
	st, err := u.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Current != "1.0.0" || st.Trial != nil || len(st.Refused) != 1 || st.Refused[0] != "2.0.0" || !strings.Contains(st.Reason, "started 4 times") ||
		st.Last == nil || st.Last.Outcome != OutcomeRolledBack || st.Last.Version != "2.0.0" || !strings.Contains(st.Last.Reason, "started 4 times") {
		t.Fatalf("after crash loop: %+v", st)
	}
	s.mu.Lock()
	starts := s.starts
	s.mu.Unlock()
	if starts != 1+3+1 {
		t.Errorf("starts: %d, want 1 (old) + 3 (crashing) + 1 (old again)", starts)
	}
	if exists(filepath.Join(u.Dir, "2.0.0")) {
		t.Error("the rolled-back version's folder is still there")
	}
}

func TestUnhealthyUpdateRollsBack(t *testing.T) {
	s, u := newFleetPC(t, 500*time.Millisecond)
	applyFile(t, u, build(t, "2.0.0", "unhealthy"), "2.0.0")
	s.kill(syscall.SIGTERM)
	s.waitRunning("2.0.0")
	s.waitRunning("1.0.0")
	st, _ := u.Status()
	if st.Current != "1.0.0" || !strings.Contains(st.Reason, "not healthy") {
		t.Fatalf("after unhealthy trial: %+v", st)
	}
}

func TestKillMidApplyLeavesARunningVersion(t *testing.T) {
	for _, step := range []string{"staged", "trial", "switched"} {
		t.Run(step, func(t *testing.T) {
			s, u := newFleetPC(t, 5*time.Second)
			next := build(t, "2.0.0", "good")
			cmd := exec.Command(build(t, "1.0.0", "good"), "apply", next, "2.0.0")
			cmd.Env = append(os.Environ(), "FAKE_DIR="+u.Dir, "FAKE_PAUSE="+step)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if strings.TrimSpace(line) != "paused "+step {
				t.Fatalf("apply said %q", line)
			}
			cmd.Process.Kill() // kill -9 mid-apply
			cmd.Wait()
			s.kill(syscall.SIGKILL) // and the power goes with it
			want := "1.0.0"
			if step == "switched" {
				want = "2.0.0"
			}
			s.waitRunning(want)
			st := waitState(t, u, func(st State) bool { return st.Trial == nil || st.Trial.Healthy })
			if st.Current != want {
				t.Fatalf("after kill at %s: %+v, want %s current", step, st, want)
			}
		})
	}
}

func TestApplyRefusedWhileServing(t *testing.T) {
	_, u := newFleetPC(t, 5*time.Second)
	u.Idle = func() bool { return false }
	data, _ := os.ReadFile(build(t, "2.0.0", "good"))
	err := u.Apply("2.0.0", data)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("apply while serving: %v", err)
	}
	if st, _ := u.Status(); st.Current != "1.0.0" || exists(filepath.Join(u.Dir, "2.0.0")) {
		t.Fatalf("something changed: %+v", st)
	}
}

// apt upgrade: the packaged binary (the supervisor's ExecStartPre) is replaced by a
// newer one; its next start puts it on trial and commits it when healthy, and a
// packaged version that crash-loops goes back to what ran before.
func TestPackageUpgradeGoesOnTrial(t *testing.T) {
	s, u := newFleetPC(t, 5*time.Second)
	s.mu.Lock()
	s.launcher = build(t, "2.0.0", "good")
	s.mu.Unlock()
	s.kill(syscall.SIGTERM)
	s.waitRunning("2.0.0")
	st := waitState(t, u, func(st State) bool { return st.Trial != nil && st.Trial.Healthy })
	if st.Current != "2.0.0" || st.Previous != "1.0.0" {
		t.Fatalf("after the package upgrade: %+v", st)
	}
}

// A technician's apply waits for the lock another process (here: another open of the
// lock file) holds, instead of interleaving its state with the agent's.
func TestApplyWaitsForTheLock(t *testing.T) {
	_, u := newFleetPC(t, 5*time.Second)
	unlock, err := u.lock()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- u.Apply("2.0.0", []byte("new")) }()
	select {
	case err := <-done:
		t.Fatalf("apply finished while the lock was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("apply never finished after the lock was released")
	}
}
