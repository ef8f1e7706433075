package testkit

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Child is a copy of the running test binary, started as a helper process (the test's
// TestMain runs the helper's body when it sees its variable in the environment) to be
// killed with SIGKILL mid-flight: the one kill -9 harness of the suite.
type Child struct {
	Cmd *exec.Cmd
}

// StartChild starts the test binary with env added and waits until the child prints a
// line equal to cue on stdout (it is doing real work), for up to a minute.
func StartChild(t testing.TB, env []string, cue string) *Child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan bool, 1)
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if strings.TrimSpace(line) == cue {
				got <- true
				io.Copy(io.Discard, r)
				return
			}
			if err != nil {
				got <- false
				return
			}
		}
	}()
	select {
	case ok := <-got:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child ended before %q", cue)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child silent for a minute (no %q)", cue)
	}
	return &Child{Cmd: cmd}
}

// Kill9 kills the child with SIGKILL and fails the test if it had ended otherwise.
func (c *Child) Kill9(t testing.TB) {
	t.Helper()
	if err := c.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.Cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed", err)
	}
}
