package winservice

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// These flags are set only when the service manager starts this test binary as a
// service (packaging/installtest registers it so under wine).
var (
	childDir  = flag.String("child-dir", "", "folder to report into when run as a service")
	childMode = flag.String("child-mode", "serve", "serve (until stopped) or fail (return 3 at once)")
)

func report(name, text string) {
	os.WriteFile(filepath.Join(*childDir, name), []byte(text), 0o644)
}

// TestServiceChild is the service itself: it reports when it starts, and how Run
// ended when it is stopped.
func TestServiceChild(t *testing.T) {
	if *childDir == "" {
		t.Skip("run by the service manager only (see packaging/installtest)")
	}
	code, asService := Run("motcua-svc-test", func(ctx context.Context) int {
		report("started", *childMode)
		if *childMode == "fail" {
			return 3
		}
		<-ctx.Done()
		return 0
	})
	report("stopped", fmt.Sprintf("code=%d service=%v", code, asService))
}

// From a console, Run does not run the agent and says so at once, so the caller runs
// it in the foreground.
func TestRunFromConsole(t *testing.T) {
	if *childDir != "" {
		t.Skip("the service child")
	}
	ran := false
	start := time.Now()
	code, asService := Run("motcua-svc-test", func(context.Context) int { ran = true; return 0 })
	if asService || ran || code != 0 {
		t.Fatalf("Run from a console: code %d, asService %v, ran %v", code, asService, ran)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run took %v to find no service manager", d)
	}
}
