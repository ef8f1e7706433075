//go:build linux

package ptypair

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

const childVar = "MOTCUA_PTYPAIR_CHILD"

// TestMain runs the helper's body in a child copy of the test binary: it opens pairs
// as the demo does, prints each socat's process id, then waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(childVar); dir != "" {
		for i := range 4 {
			p, err := Open(context.Background(), dir, fmt.Sprint("dev", i))
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println("socat", p.cmd.Process.Pid)
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// alive says whether pid is a running process (a zombie waiting for its reaper is not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// TestSocatDiesWithItsParent kills a process holding four pty pairs with SIGKILL, as a
// crash would end the demo: no socat may be left running.
func TestSocatDiesWithItsParent(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	child := testkit.SpawnChild(t, childVar+"="+dir)
	var pids []int
	deadline := time.After(30 * time.Second)
	for ready := false; !ready; {
		select {
		case line, ok := <-child.Lines:
			if !ok {
				t.Fatal("helper ended before its pairs were open")
			}
			if pid, ok := strings.CutPrefix(line, "socat "); ok {
				n, _ := strconv.Atoi(pid)
				pids = append(pids, n)
			}
			ready = line == "ready"
		case <-deadline:
			child.Cmd.Process.Kill()
			t.Fatal("helper did not open its pairs within 30 s")
		}
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("socat %d not running before the kill", pid)
		}
	}
	child.Kill9(t)
	for _, pid := range pids {
		testkit.Eventually(t, 10*time.Second, func() bool { return !alive(pid) }, "socat %d to end after its parent was killed", pid)
	}
}

// TestStopAndStartAgain: Stop is an unplug (the links go), Start a re-plug at the same
// paths, and Stop waits for socat to be gone.
func TestStopAndStartAgain(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	p, err := Open(context.Background(), t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	p.Stop()
	if alive(pid) {
		t.Fatal("socat running after Stop")
	}
	if _, err := os.Stat(p.Device); !os.IsNotExist(err) {
		t.Fatalf("link after Stop: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := os.Stat(p.Host); err != nil {
		t.Fatal(err)
	}
}
