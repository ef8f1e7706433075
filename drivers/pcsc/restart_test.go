//go:build unix

package pcsc_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/internal/testkit"
)

// TestWatchSurvivesServiceRestart stops pcscd under a running Watch, starts it again
// and checks the watch reports the loss, comes back and still sees cards. It stops
// the machine's pcscd, so it runs only when MOTCUA_TEST_PCSCD_RESTART=1 (set it where
// the test owns pcscd, as in CI).
func TestWatchSurvivesServiceRestart(t *testing.T) {
	if os.Getenv("MOTCUA_TEST_PCSCD_RESTART") != "1" {
		t.Skip("stops pcscd: set MOTCUA_TEST_PCSCD_RESTART=1 to run")
	}
	ctx := setup(t)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events := pcsc.Watch(wctx)
	wait := func(kind pcsc.EventKind) pcsc.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Kind == kind && (e.Reader == "" || e.Reader == reader) {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %v", kind)
			}
		}
	}
	wait(pcsc.ServiceBack)
	wait(pcsc.ReaderAttached)

	out, err := exec.Command("pgrep", "-x", "pcscd").Output()
	if err != nil {
		t.Fatalf("pgrep pcscd: %v", err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(out))[0])
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := wait(pcsc.ServiceLost); e.Err == nil {
		t.Fatal("service lost without a reason")
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "pcscd %d to stop", pid)
	if _, err := pcsc.ListReaders(ctx); err == nil {
		t.Fatal("ListReaders works with pcscd stopped")
	}
	if err := pcsctest.StartDaemon(); err != nil {
		t.Fatal(err)
	}
	wait(pcsc.ServiceBack)
	wait(pcsc.ReaderAttached)
	pcsctest.Require(t, addr)
	pcsctest.Insert(t, ctx, addr, &echoCard{}, vpcd.Options{})
	wait(pcsc.CardInserted)
}
