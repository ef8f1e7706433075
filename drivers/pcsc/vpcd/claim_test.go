//go:build unix

package vpcd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestClaimIsOneHolderAtATime: a second claim on the same reader is refused without
// waiting, or waits until the first is released; another reader's claim is free.
func TestClaimIsOneHolderAtATime(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	const addr = "127.0.0.1:35963"
	release, err := Claim(addr, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Claim(addr, false); !errors.Is(err, ErrClaimed) {
		t.Fatalf("second claim: %v, want ErrClaimed", err)
	}
	other, err := Claim("127.0.0.1:35964", false)
	if err != nil {
		t.Fatalf("the other reader: %v", err)
	}
	other()

	got := make(chan func(), 1)
	go func() {
		r, err := Claim(addr, true)
		if err != nil {
			t.Error(err)
			r = func() {}
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a waiting claim was granted while the reader is held")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case r := <-got:
		r()
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting claim was not granted after the release")
	}
	if _, err := Claim("no-port", false); err == nil {
		t.Fatal("an address without a port was claimed")
	}
}

// A link planted at the claim's path (the temp dir is every account's) is not followed:
// the claim fails with an error and the link's target is not created.
func TestClaimRefusesALink(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	target := filepath.Join(dir, "target")
	if err := os.Symlink(target, filepath.Join(dir, "motcua-agent-vpcd-35963.lock")); err != nil {
		t.Fatal(err)
	}
	if _, err := Claim("127.0.0.1:35963", false); err == nil || errors.Is(err, ErrClaimed) {
		t.Fatalf("claim through a link: %v, want an error", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Fatal("the link's target was created")
	}
}
