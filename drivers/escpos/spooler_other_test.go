//go:build !windows

package escpos

import (
	"context"
	"strings"
	"testing"

	"motcua-agent/config"
)

// A Windows spooler printer in a config used on Linux says plainly why it cannot print.
func TestSpoolerOnlyOnWindows(t *testing.T) {
	p, err := New(config.Printer{Transport: "windows", Name: "XP-80C", PaperWidthMM: 80})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Print(context.Background(), []byte{0x1b, '@'})
	if err == nil || !strings.Contains(err.Error(), "works only on Windows") {
		t.Fatalf("print through the Windows spooler on %s: %v", "linux", err)
	}
}
