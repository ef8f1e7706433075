package config

import (
	"fmt"
	"motcua-agent/config/vocab"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Suffixes a scanner may end each scan with.
const (
	SuffixCR   = "cr"
	SuffixLF   = "lf"
	SuffixCRLF = "crlf"
	SuffixNone = "none"
)

// Scanner purposes: what a scan at this scanner means.
const (
	ScanForCheckin  = "checkin"  // clinic or counter reception: ID-card QR / VNeID check-in
	ScanForIdentity = "identity" // one-stop counter: pre-fill identity, give the chip its key
	ScanForGate     = "gate"     // tourist-site gate lane (the gate flow counts entries)
	ScanForDossier  = "dossier"  // dossier receipts scanned at the counter: "received"
)

// Scanner is one QR scanner: a serial (USB-CDC virtual COM) scanner chosen by port path
// or by USB VID:PID and serial number, or on Linux a keyboard-wedge scanner read
// through evdev.
type Scanner struct {
	// Name identifies the scanner in logs and on the dashboard.
	Name string `yaml:"name"`
	// Counter or Lane tags each scan with where it was made (one of them, or neither).
	Counter string `yaml:"counter"`
	Lane    string `yaml:"lane"`
	// Purpose: checkin (default), identity, gate or dossier.
	Purpose string `yaml:"purpose"`
	// Port is the serial port path (COM3, /dev/ttyACM0, a pty).
	Port string `yaml:"port"`
	// USB chooses the port by "VID:PID" (hex), so a re-plug into another socket still
	// finds it; SerialNumber tells two scanners of the same model apart.
	USB          string `yaml:"usb"`
	SerialNumber string `yaml:"serial_number"`
	// Keyboard is a Linux evdev device (/dev/input/by-id/…-event-kbd) for a
	// keyboard-wedge scanner, read with an exclusive grab (see drivers/scanner).
	Keyboard string `yaml:"keyboard"`
	// Baud is the serial speed (USB-CDC ignores it; default 9600).
	Baud int `yaml:"baud"`
	// Suffix ends each scan: cr (default), lf, crlf or none.
	Suffix string `yaml:"suffix"`
	// IdleGap ends a scan when no byte arrived for this long: the framing with suffix
	// none, and the fallback when a suffix is configured but never comes. Default 80ms
	// with suffix none, 400ms otherwise.
	IdleGap time.Duration `yaml:"idle_gap"`
	// MaxScan caps one scan's length in bytes (default 4096).
	MaxScan int `yaml:"max_scan"`
}

func (s *Scanner) setDefaults() {
	if s.Purpose == "" {
		s.Purpose = ScanForCheckin
	}
	s.Suffix = strings.ToLower(s.Suffix)
	if s.Suffix == "" {
		s.Suffix = SuffixCR
	}
	if s.Baud == 0 {
		s.Baud = 9600
	}
	if s.IdleGap == 0 {
		if s.Suffix == SuffixNone {
			s.IdleGap = 80 * time.Millisecond
		} else {
			s.IdleGap = 400 * time.Millisecond
		}
	}
	if s.MaxScan == 0 {
		s.MaxScan = 4096
	}
}

var usbIDRe = regexp.MustCompile(`^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$`)

func (s *Scanner) validate(p *Problems, path string) {
	if s.Name == "" {
		p.Add(path+".name", "required: a short name for this scanner")
	}
	n := 0
	for _, v := range []string{s.Port, s.USB, s.Keyboard} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		p.Add(path, "set exactly one of port (e.g. COM3, /dev/ttyACM0), usb (VID:PID) or keyboard (evdev device)")
	}
	if s.USB != "" && !usbIDRe.MatchString(s.USB) {
		p.Add(path+".usb", "must be VID:PID in hex, e.g. 0c2e:0b61 (got %q)", s.USB)
	}
	if s.SerialNumber != "" && s.USB == "" {
		p.Add(path+".serial_number", "only meaningful with usb")
	}
	if s.Counter != "" && s.Lane != "" {
		p.Add(path, "set counter or lane, not both")
	}
	switch s.Purpose {
	case ScanForCheckin, ScanForIdentity, ScanForGate, ScanForDossier:
	default:
		p.Add(path+".purpose", "must be checkin, identity, gate or dossier (got %q)", s.Purpose)
	}
	switch s.Suffix {
	case SuffixCR, SuffixLF, SuffixCRLF, SuffixNone:
	default:
		p.Add(path+".suffix", "must be cr, lf, crlf or none (got %q)", s.Suffix)
	}
	if s.Baud < 300 || s.Baud > 4000000 {
		p.Add(path+".baud", "must be between 300 and 4000000")
	}
	if s.IdleGap < 5*time.Millisecond || s.IdleGap > 10*time.Second {
		p.Add(path+".idle_gap", "must be between 5ms and 10s")
	}
	if s.MaxScan < 64 || s.MaxScan > 1<<20 {
		p.Add(path+".max_scan", "must be between 64 and 1048576 bytes")
	}
}

// Tag is where the scanner's scans are made: its counter or lane (or its name).
func (s *Scanner) Tag() string {
	switch {
	case s.Counter != "":
		return s.Counter
	case s.Lane != "":
		return s.Lane
	}
	return s.Name
}

// Dossier configures dossier counting (received / digitised) and the watched folder
// the counter's document scanner writes into.
type Dossier struct {
	// ScanFolder is watched for scanned pages (PNG, JPEG); empty turns the watcher off.
	ScanFolder string `yaml:"scan_folder"`
	// ReceiptPattern recognises the code of a dossier receipt (phiếu tiếp nhận) in a
	// QR or barcode payload: a Go regular expression with a named group "code" and
	// optionally "service". Provinces print different receipts; the default accepts
	// codes like H40.22-230701-0001, bare or inside a look-up URL, optionally followed
	// by "|service".
	ReceiptPattern string `yaml:"receipt_pattern"`
	// Settle is how long a file must stay unchanged before it is read (default 1s).
	Settle time.Duration `yaml:"settle"`
	// MaxFileBytes and MaxImagePixels cap what is decoded (defaults 64 MiB, 120 Mpx:
	// an A4 page at 600 dpi is 35 Mpx).
	MaxFileBytes   int64 `yaml:"max_file_bytes"`
	MaxImagePixels int64 `yaml:"max_image_pixels"`
	// Services extends (or renames) the built-in catalogue of the 25 essential public
	// services; a later national list has 53.
	Services []Service `yaml:"services"`
}

// Service is one public service in the catalogue.
type Service struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
	// Level is the online level ("3", "4", "3, 4"); informational.
	Level string `yaml:"level"`
}

// DefaultReceiptPattern is used when dossier.receipt_pattern is empty.
const DefaultReceiptPattern = `(?:^|[=/])(?P<code>[A-Z][A-Z0-9.]{1,24}-[0-9]{6}-[0-9]{3,6})(?:\|(?P<service>[0-9A-Za-z.]{1,24}))?$`

func (d *Dossier) setDefaults() {
	if d.ReceiptPattern == "" {
		d.ReceiptPattern = DefaultReceiptPattern
	}
	if d.Settle == 0 {
		d.Settle = time.Second
	}
	if d.MaxFileBytes == 0 {
		d.MaxFileBytes = 64 << 20
	}
	if d.MaxImagePixels == 0 {
		d.MaxImagePixels = 120_000_000
	}
}

func (d *Dossier) validate(p *Problems, path string) {
	re, err := regexp.Compile(d.ReceiptPattern)
	if err != nil {
		p.Add(path+".receipt_pattern", "not a valid regular expression: %v", err)
	} else if re.SubexpIndex("code") < 0 {
		p.Add(path+".receipt_pattern", "needs a named group (?P<code>…) for the dossier code")
	}
	if d.Settle < 10*time.Millisecond || d.Settle > time.Minute {
		p.Add(path+".settle", "must be between 10ms and 1m")
	}
	if d.MaxFileBytes < 1024 || d.MaxFileBytes > 1<<30 {
		p.Add(path+".max_file_bytes", "must be between 1 KiB and 1 GiB")
	}
	if d.MaxImagePixels < 10_000 || d.MaxImagePixels > 400_000_000 {
		p.Add(path+".max_image_pixels", "must be between 10000 and 400000000")
	}
	seen := map[string]bool{}
	for i, s := range d.Services {
		sp := fmt.Sprintf("%s.services[%d]", path, i)
		if s.Code == "" || len(s.Code) > 32 || strings.ContainsAny(s.Code, " |") {
			p.Add(sp+".code", "required: at most 32 characters, no spaces or '|'")
		}
		if s.Name == "" {
			p.Add(sp+".name", "required: the service's name as in the province's report")
		}
		if seen[s.Code] {
			p.Add(sp+".code", "duplicate code %q", s.Code)
		}
		seen[s.Code] = true
	}
}

// EssentialServices is the built-in catalogue: the 25 essential public services of the
// province's monthly report under Đề án 06, numbered as in that report.
var EssentialServices = func() []Service {
	out := make([]Service, len(vocab.EssentialServices))
	for i, v := range vocab.EssentialServices {
		out[i] = Service{Code: strconv.Itoa(v.No), Name: v.Name, Level: v.Level}
	}
	return out
}()

// Catalogue is the built-in services followed by the config's; a config entry with a
// built-in code replaces that entry's name and level.
func (d *Dossier) Catalogue() []Service {
	out := append([]Service(nil), EssentialServices...)
	idx := map[string]int{}
	for i, s := range out {
		idx[s.Code] = i
	}
	for _, s := range d.Services {
		if i, ok := idx[s.Code]; ok {
			out[i] = s
			continue
		}
		idx[s.Code] = len(out)
		out = append(out, s)
	}
	return out
}
