package config

import (
	"errors"
	"strings"
	"testing"
)

func TestQueueSectionProblems(t *testing.T) {
	t.Parallel()
	site := "site: {province_code: \"01\", commune_code: \"00004\", id: s, name: \"UBND\", device_id: pc}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"ok", `queue: {enabled: true, services: [{code: A, name: "Hộ tịch", first: 1001, last: 1999}], counters: [{id: "1", services: [A]}]}`, ""},
		{"overlap", `queue: {enabled: true, services: [{code: A, name: a, first: 1, last: 100}, {code: B, name: b, first: 50, last: 200}], counters: [{id: "1", services: [A]}]}`,
			"queue.services[1]: numbers 50..200 overlap services[0]"},
		{"unknown service", `queue: {enabled: true, services: [{code: A, name: a, first: 1, last: 9}], counters: [{id: "1", services: [Z]}]}`,
			`queue.counters[0].services[0]: unknown service "Z"`},
		{"no services", `queue: {enabled: true}`, "queue.services: list at least one service"},
		{"disabled needs nothing", `queue: {enabled: false}`, ""},
		{"recalls", `queue: {enabled: true, no_show_after_recalls: 11, services: [{code: A, name: a, first: 1, last: 9}], counters: [{id: "1", services: [A]}]}`,
			"queue.no_show_after_recalls: must be between 0 and 10"},
		{"transport", `printer: {transport: parallel}`, "printer.transport: must be none, serial, usb, tcp, file or windows"},
		{"windows needs a name", `printer: {transport: windows}`, "printer.name: required for transport windows"},
		{"device", `printer: {transport: usb}`, "printer.device: required for transport usb"},
		{"width", `printer: {transport: file, device: t.bin, paper_width_mm: 76}`, "printer.paper_width_mm: must be 58 or 80"},
		{"tcvn3", `printer: {text: tcvn3}`, "printer.text: tcvn3 is not supported yet"},
		{"line format", `display: {line_format: "CALL"}`, "display.line_format: must contain {number}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(site+tc.yaml+"\n"), "", Overrides{DataDir: t.TempDir()})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				if c.Printer.Transport != "none" || c.Printer.PaperWidthMM != 80 || c.Display.LineFormat == "" || !*c.Display.Voice {
					t.Fatalf("defaults not set: %+v %+v", c.Printer, c.Display)
				}
				return
			}
			var p *Problems
			if !errors.As(err, &p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("problems %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTCPPrinterDefaultPort(t *testing.T) {
	t.Parallel()
	site := "site: {province_code: \"01\", commune_code: \"00004\", id: s, name: \"UBND\", device_id: pc}\n"
	c, err := Parse([]byte(site+"printer: {transport: tcp, address: 192.168.1.50}\n"), "", Overrides{DataDir: t.TempDir()})
	if err != nil || c.Printer.Address != "192.168.1.50:9100" {
		t.Fatalf("%v %+v", err, c.Printer)
	}
}
