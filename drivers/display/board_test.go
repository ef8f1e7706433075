package display

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

func TestBoardLine(t *testing.T) {
	b := NewBoard("CALL {number} {counter}\r\n", nil)
	if got := b.Line(1023, "3"); got != "CALL 1023 3\r\n" {
		t.Fatalf("%q", got)
	}
	if got := b.Line(7, "3\r\nX"); got != "CALL 7 3X\r\n" {
		t.Fatalf("control bytes reached the board: %q", got)
	}
}

// The board writes its lines over a real pseudo-terminal pair made by socat.
func TestBoardOverPTY(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	a, z := filepath.Join(dir, "board"), filepath.Join(dir, "host")
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+z)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, e1 := os.Stat(a)
		_, e2 := os.Stat(z)
		return e1 == nil && e2 == nil
	}, "socat made no ptys")
	r, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := NewBoard("CALL {number} {counter}\r\n", func() (io.WriteCloser, error) { return os.OpenFile(z, os.O_WRONLY, 0) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	b.Call(1023, "3")
	b.Call(1024, "1")
	sc := bufio.NewReader(r)
	for _, want := range []string{"CALL 1023 3\r\n", "CALL 1024 1\r\n"} {
		line, err := sc.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q %v, want %q", line, err, want)
		}
	}
}
