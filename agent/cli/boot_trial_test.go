package cli

import (
	"os"
	"path/filepath"
	"testing"

	"motcua-agent/agent/update"
)

// The Windows service's own start count (bootTrial), on this OS's switch: nothing
// happens without a trial; a version on trial that keeps starting is rolled back after
// update.DefaultMaxStarts starts, and the start that rolls it back says to exit
// non-zero so the service manager starts the previous version.
func TestBootTrialCountsTheServiceStarts(t *testing.T) {
	data := t.TempDir()
	u := update.ForData(data)
	old := filepath.Join(t.TempDir(), update.BinaryName())
	if err := os.WriteFile(old, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Boot(old, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if code, stop := bootTrial(u, "1.0.0"); stop || code != 0 {
		t.Fatalf("without a trial: %d %v", code, stop)
	}
	if st, _ := u.Status(); st.Trial != nil {
		t.Fatalf("a start without a trial made one: %+v", st.Trial)
	}
	if err := u.Apply("2.0.0", []byte("#!/bin/sh\nexit 1\n")); err != nil {
		t.Fatal(err)
	}
	stopped := 0
	for i := 1; i <= update.DefaultMaxStarts+1; i++ {
		if code, stop := bootTrial(u, "2.0.0"); stop {
			if code == 0 || i != update.DefaultMaxStarts+1 {
				t.Fatalf("start %d: stop with code %d", i, code)
			}
			stopped = i
		}
	}
	st, err := u.Status()
	if err != nil {
		t.Fatal(err)
	}
	if stopped == 0 || st.Current != "1.0.0" || st.Trial != nil {
		t.Fatalf("after %d starts of a crash-looping trial: stopped at %d, state %+v", update.DefaultMaxStarts+1, stopped, st)
	}
}
