package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const siteYAML = "site: {province_code: \"40\", commune_code: \"16684\", id: s, name: Trạm, device_id: d}\n"

func TestScannerAndDossierConfig(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(siteYAML+`
scanners:
  - name: a
    usb: "0C2E:0B61"
    serial_number: X1
    suffix: CRLF
  - name: b
    port: /dev/ttyACM0
    lane: vao-1
    purpose: gate
    suffix: none
dossier:
  scan_folder: scans
  services:
    - {code: "3", name: Đăng ký thường trú (tỉnh)}
    - {code: "1.000894", name: Thủ tục riêng của tỉnh, level: "4"}
`), "/etc/motcua/site.yaml", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Scanners[0], c.Scanners[1]
	if a.Suffix != SuffixCRLF || a.IdleGap != 400*time.Millisecond || a.Purpose != ScanForCheckin || a.Tag() != "a" {
		t.Errorf("scanner a defaults: %+v", a)
	}
	if b.IdleGap != 80*time.Millisecond || b.Tag() != "vao-1" {
		t.Errorf("scanner b: %+v", b)
	}
	cat := c.Dossier.Catalogue()
	if len(cat) != 26 || cat[2].Name != "Đăng ký thường trú (tỉnh)" || cat[25].Code != "1.000894" || cat[12].Name != "Đăng ký khai sinh" {
		t.Errorf("catalogue: %d entries, [2]=%q", len(cat), cat[2].Name)
	}
	if c.Dossier.ReceiptPattern != DefaultReceiptPattern || c.Dossier.Settle != time.Second {
		t.Errorf("dossier defaults: %+v", c.Dossier)
	}
}

func TestScannerConfigProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(siteYAML+`
scanners:
  - name: ""
    port: COM3
    usb: "12:34"
    suffix: tab
    purpose: lobby
    counter: q1
    lane: l1
    idle_gap: 1ms
dossier:
  receipt_pattern: "(unclosed"
  services:
    - {code: "3 x", name: ""}
`), "", Overrides{})
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"scanners[0].name", "scanners[0]: set exactly one", "scanners[0].usb", "scanners[0].suffix",
		"scanners[0].purpose", "set counter or lane", "scanners[0].idle_gap", "dossier.receipt_pattern", "dossier.services[0].code", "dossier.services[0].name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing problem %q in:\n%v", want, err)
		}
	}
	_, err = Parse([]byte(siteYAML+"dossier:\n  receipt_pattern: '^[A-Z]+$'\n"), "", Overrides{})
	if err == nil || !strings.Contains(err.Error(), "(?P<code>") {
		t.Errorf("pattern without a code group: %v", err)
	}
}
