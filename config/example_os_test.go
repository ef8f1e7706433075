package config

import (
	"strings"
	"testing"
)

// Every example has a Windows form that passes validation, with Windows device names
// only, and the same shape as the Linux one.
func TestExampleForWindows(t *testing.T) {
	for _, profile := range []string{ProfileCounter, ProfileClinic, ProfileHospital, ProfileGate, ProfileDemo} {
		t.Run(profile, func(t *testing.T) {
			b, err := ExampleFor(profile, "windows")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "/dev/") || strings.Contains(string(b), "/var/lib") {
				t.Fatalf("a Linux path is left:\n%s", b)
			}
			win, err := Parse(b, "", Overrides{DataDir: t.TempDir()})
			if err != nil {
				t.Fatalf("the Windows example fails validation: %v\n%s", err, b)
			}
			linux, _ := ExampleFor(profile, "linux")
			lin, err := Parse(linux, "", Overrides{DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if len(win.Scanners) != len(lin.Scanners) || win.Queue.Enabled != lin.Queue.Enabled {
				t.Fatalf("the Windows example differs in shape from the Linux one")
			}
			for _, s := range win.Scanners {
				if s.Port != "" && !strings.HasPrefix(s.Port, "COM") {
					t.Errorf("scanner %s on %q, want a COM port", s.Name, s.Port)
				}
			}
			if lin.Printer.Transport == "usb" && (win.Printer.Transport != "windows" || win.Printer.Name == "") {
				t.Errorf("USB printer not turned into a spooler printer: %+v", win.Printer)
			}
		})
	}
	if _, err := ExampleFor(ProfileCounter, "plan9"); err == nil {
		t.Fatal("an unknown OS gave an example")
	}
}
