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
// killed with SIGKILL mid-flight: the one kill -9 harness of the suite. The helper
// reports what it has made durable by printing lines on stdout.
type Child struct {
	Cmd *exec.Cmd
	// Lines are the child's stdout lines, closed when its stdout ends.
	Lines <-chan string
}

// SpawnChild starts the test binary with env added; its stdout arrives on Lines.
func SpawnChild(t testing.TB, env ...string) *Child {
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
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if line != "" && err == nil {
				lines <- strings.TrimRight(line, "\r\n")
			}
			if err != nil {
				io.Copy(io.Discard, r)
				return
			}
		}
	}()
	return &Child{Cmd: cmd, Lines: lines}
}

// StartChild spawns the child and waits, for up to a minute, until it prints a line
// equal to cue (it is doing real work); later lines are dropped.
func StartChild(t testing.TB, env []string, cue string) *Child {
	t.Helper()
	c := SpawnChild(t, env...)
	deadline := time.After(time.Minute)
	for {
		select {
		case line, ok := <-c.Lines:
			if !ok {
				c.Cmd.Wait()
				t.Fatalf("child ended before %q", cue)
			}
			if line == cue {
				return c
			}
		case <-deadline:
			c.Cmd.Process.Kill()
			c.Cmd.Wait()
			t.Fatalf("child silent for a minute (no %q)", cue)
		}
	}
}

// Kill9 kills the child with SIGKILL, returns the lines it printed that were not read
// yet (every one: what the child acknowledged before dying counts), and fails the test
// if the child had ended otherwise.
func (c *Child) Kill9(t testing.TB) []string {
	t.Helper()
	if err := c.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for line := range c.Lines {
		rest = append(rest, line)
	}
	err := c.Cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed", err)
	}
	return rest
}
