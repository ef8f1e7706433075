package config

import "testing"

// A Windows printer is named as Windows names it, spaces and all.
func TestWindowsSpoolerPrinter(t *testing.T) {
	site := "site: {province_code: \"01\", commune_code: \"00004\", id: s, name: \"UBND\", device_id: pc}\n"
	c, err := Parse([]byte(site+"printer: {transport: windows, name: \"XP-80C (copy 1)\"}\n"), "", Overrides{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Printer.Transport != "windows" || c.Printer.Name != "XP-80C (copy 1)" {
		t.Fatalf("printer: %+v", c.Printer)
	}
}
