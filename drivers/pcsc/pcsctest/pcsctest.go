//go:build unix

// Package pcsctest gives tests the real PC/SC stack with the vsmartcard vpcd reader:
// it starts pcscd when it is missing (as root, as CI runs) or skips the test with a
// reason, and it serialises tests across packages that use the same virtual reader.
//
// It is for tests only; nothing in the agent may import it.
package pcsctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/vpcd"
)

// Require makes sure pcscd runs with vpcd listening at addr, starting pcscd (detached;
// it is left running for the next test package) when it is not running and the test
// runs as root. Otherwise it skips the test with a message.
func Require(t testing.TB, addr string) {
	t.Helper()
	if _, err := exec.LookPath("pcscd"); err != nil {
		t.Skip("pcscd not installed (Debian: pcscd vsmartcard-vpcd)")
	}
	if _, err := os.Stat("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"); err != nil {
		t.Skip("vsmartcard-vpcd not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pcsc.ListReaders(ctx)
	if errors.Is(err, pcsc.ErrNoService) {
		if os.Geteuid() != 0 {
			t.Skip("pcscd is not running and the test is not root; start it with `pcscd -f &`")
		}
		if err := StartDaemon(); err != nil {
			t.Fatalf("start pcscd: %v", err)
		}
	} else if err != nil {
		t.Fatalf("list readers: %v", err)
	}
	if err := waitListening(addr, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

// StartDaemon starts `pcscd -f` in its own process group, logging to a file in the
// temp dir, and waits until it answers.
func StartDaemon() error {
	logf, err := os.Create(filepath.Join(os.TempDir(), "motcua-agent-pcscd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("pcscd", "-f")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it if it exits while we run
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := pcsc.ListReaders(ctx)
		cancel()
		if !errors.Is(err, pcsc.ErrNoService) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pcscd started (pid %d) but does not answer", cmd.Process.Pid)
}

// waitListening waits until something listens on addr's port, read from
// /proc/net/tcp so that the check does not itself connect (a connection to vpcd is a
// card insertion).
func waitListening(addr string, within time.Duration) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	want := fmt.Sprintf(":%04X ", p)
	deadline := time.Now().Add(within)
	for {
		for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\n") {
				fields := strings.Fields(line)
				if len(fields) > 3 && strings.HasSuffix(fields[1]+" ", want) && fields[3] == "0A" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vpcd is not listening on port %s (is vsmartcard-vpcd installed?)", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LockReader takes the machine's claim on the virtual reader at addr (vpcd.Claim)
// until the test ends, waiting for whoever holds it, so that tests in different
// packages and demo agents started by other tests never share the reader; then it
// waits until the last holder's card has left the reader.
func LockReader(t testing.TB, addr string) {
	t.Helper()
	release, err := vpcd.Claim(addr, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	reader := vpcd.ReaderName(addr)
	if reader == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := WaitCard(ctx, reader, false); err != nil {
		t.Fatalf("a card stays in the virtual reader after its holder let it go (a `motcua-agent sim card` running?): %v", err)
	}
}

// Reader returns what PC/SC says about reader now.
func Reader(ctx context.Context, reader string) (pcsc.ReaderInfo, error) {
	rs, err := pcsc.ListReaders(ctx)
	if err != nil {
		return pcsc.ReaderInfo{}, err
	}
	for _, r := range rs {
		if r.Name == reader {
			return r, nil
		}
	}
	return pcsc.ReaderInfo{}, fmt.Errorf("reader %q: %w", reader, pcsc.ErrNoReader)
}

// WaitCard waits until reader shows a card (present true) or is empty (false). To
// wait for a particular card to be gone use Slot.WaitGone: pcscd may show the reader
// empty before its own poll has registered the removal, and a card inserted in that
// moment is never seen.
func WaitCard(ctx context.Context, reader string, present bool) error {
	_, err := waitReader(ctx, reader, func(r pcsc.ReaderInfo) bool { return r.CardPresent == present })
	return err
}

func waitReader(ctx context.Context, reader string, ok func(pcsc.ReaderInfo) bool) (pcsc.ReaderInfo, error) {
	for {
		r, err := Reader(ctx, reader)
		if err == nil && ok(r) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("reader %q: state not reached (last %+v, %v): %w", reader, r, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Slot is a virtual card inserted for a test.
type Slot struct {
	*vpcd.Slot
	Reader string
	events uint32
}

// Insert puts card into the vpcd reader at addr, waits until PC/SC shows it, and
// removes it (waiting until pcscd has registered the removal) when the test ends.
func Insert(t testing.TB, ctx context.Context, addr string, card vpcd.Card, opt vpcd.Options) *Slot {
	t.Helper()
	reader := vpcd.ReaderName(addr)
	s, err := vpcd.Insert(ctx, addr, card, opt)
	if err != nil {
		t.Fatal(err)
	}
	r, err := waitReader(ctx, reader, func(r pcsc.ReaderInfo) bool { return r.CardPresent && !r.Mute })
	if err != nil {
		s.Remove()
		t.Fatal(err)
	}
	slot := &Slot{Slot: s, Reader: reader, events: r.Events}
	t.Cleanup(func() {
		wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := slot.WaitGone(wctx); err != nil {
			t.Error(err)
		}
	})
	return slot
}

// WaitGone removes the card (if it is not already gone) and waits until pcscd has
// registered the removal, so that the next insertion is seen as a new card.
func (s *Slot) WaitGone(ctx context.Context) error {
	s.Remove()
	_, err := waitReader(ctx, s.Reader, func(r pcsc.ReaderInfo) bool {
		return !r.CardPresent && (r.Events != s.events || r.Events == 0)
	})
	return err
}
