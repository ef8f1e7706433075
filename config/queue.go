package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Queue configures the ticket queue (owned by the queue flow): the services a citizen
// can take a ticket for, the counters that call them, and the calling rules.
type Queue struct {
	Enabled bool `yaml:"enabled"`
	// Services are the kinds of business a ticket is taken for; each has its own range
	// of numbers, so a number names one ticket for the whole day.
	Services []QueueService `yaml:"services"`
	// Counters are the desks that call tickets.
	Counters []QueueCounter `yaml:"counters"`
	// NoShowAfterRecalls is how many recalls must happen before a ticket may be marked
	// a no-show (default 2).
	NoShowAfterRecalls int `yaml:"no_show_after_recalls"`
	// PriorityAge is the age from which a citizen's ticket may be marked priority
	// (default 75: the elderly under the Law on the Elderly's priority rules).
	PriorityAge int `yaml:"priority_age"`
	// AverageServiceMinutes seeds the estimated wait printed on a ticket before the day
	// has finished tickets to learn from (default 5).
	AverageServiceMinutes int `yaml:"average_service_minutes"`
	// Notices are short lines the display board shows in turn at its foot (Vietnamese:
	// opening hours, documents to bring …).
	Notices []string `yaml:"notices"`
	// Rating is the citizens' satisfaction rating of a finished ticket.
	Rating Rating `yaml:"rating"`
}

// QueueService is one service on the kiosk.
type QueueService struct {
	// Code is what the API takes ("A", "HT" …).
	Code string `yaml:"code"`
	// Name is shown on the kiosk and printed on the ticket (Vietnamese).
	Name string `yaml:"name"`
	// First and Last bound the day's numbers of this service (e.g. 1001..1999); ranges
	// of different services must not overlap.
	First int `yaml:"first"`
	Last  int `yaml:"last"`
	// Weight makes a service's waiting time count more when a counter serving several
	// services picks the next ticket (default 1), so a busy service cannot starve a
	// quiet one and an urgent one can be favoured.
	Weight int `yaml:"weight"`
}

// QueueCounter is one desk.
type QueueCounter struct {
	// ID is the counter's number as said aloud ("3").
	ID string `yaml:"id"`
	// Location is printed on the ticket ("Tầng 1, cửa bên trái").
	Location string `yaml:"location"`
	// Services lists the codes this counter serves.
	Services []string `yaml:"services"`
}

var queueCodeRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$`)
var counterIDRe = regexp.MustCompile(`^[0-9A-Za-z]{1,8}$`)

func (q *Queue) setDefaults() {
	if q.NoShowAfterRecalls == 0 {
		q.NoShowAfterRecalls = 2
	}
	if q.PriorityAge == 0 {
		q.PriorityAge = 75
	}
	if q.AverageServiceMinutes == 0 {
		q.AverageServiceMinutes = 5
	}
	q.Rating.setDefaults()
	for i := range q.Services {
		if q.Services[i].Weight == 0 {
			q.Services[i].Weight = 1
		}
	}
}

func (q *Queue) validate(p *Problems, path string) {
	if !q.Enabled {
		return
	}
	if len(q.Services) == 0 {
		p.Add(path+".services", "list at least one service when the queue is enabled")
	}
	if len(q.Counters) == 0 {
		p.Add(path+".counters", "list at least one counter when the queue is enabled")
	}
	codes := map[string]bool{}
	for i, s := range q.Services {
		sp := fmt.Sprintf("%s.services[%d]", path, i)
		if !queueCodeRe.MatchString(s.Code) {
			p.Add(sp+".code", "must be 1-16 letters, digits, '.', '_' or '-' (got %q)", s.Code)
		}
		if codes[s.Code] {
			p.Add(sp+".code", "%q is listed twice", s.Code)
		}
		codes[s.Code] = true
		if strings.TrimSpace(s.Name) == "" {
			p.Add(sp+".name", "must not be empty")
		}
		if s.First < 1 || s.Last < s.First || s.Last > 9999 {
			p.Add(sp, "numbers must satisfy 1 <= first <= last <= 9999 (got %d..%d)", s.First, s.Last)
		}
		if s.Weight < 1 || s.Weight > 100 {
			p.Add(sp+".weight", "must be between 1 and 100")
		}
		for j, o := range q.Services[:i] {
			if s.First <= o.Last && o.First <= s.Last {
				p.Add(sp, "numbers %d..%d overlap services[%d] (%d..%d)", s.First, s.Last, j, o.First, o.Last)
			}
		}
	}
	ids := map[string]bool{}
	for i, c := range q.Counters {
		cp := fmt.Sprintf("%s.counters[%d]", path, i)
		if !counterIDRe.MatchString(c.ID) {
			p.Add(cp+".id", "must be 1-8 letters or digits (got %q)", c.ID)
		}
		if ids[c.ID] {
			p.Add(cp+".id", "%q is listed twice", c.ID)
		}
		ids[c.ID] = true
		if len(c.Services) == 0 {
			p.Add(cp+".services", "list the service codes this counter serves")
		}
		for j, code := range c.Services {
			if !codes[code] {
				p.Add(fmt.Sprintf("%s.services[%d]", cp, j), "unknown service %q", code)
			}
		}
	}
	for i, n := range q.Notices {
		if strings.TrimSpace(n) == "" || len([]rune(n)) > 200 {
			p.Add(fmt.Sprintf("%s.notices[%d]", path, i), "must be 1-200 characters")
		}
	}
	checkRange(p, path+".no_show_after_recalls", q.NoShowAfterRecalls, 0, 10)
	checkRange(p, path+".priority_age", q.PriorityAge, 50, 120)
	checkRange(p, path+".average_service_minutes", q.AverageServiceMinutes, 1, 240)
	q.Rating.validate(p, path+".rating")
}

// Printer is the ticket printer.
type Printer struct {
	// Transport is how bytes reach the printer: serial, usb (a /dev/usb/lp* device or
	// a Windows printer port), tcp (raw port 9100), file, or windows (RAW jobs through
	// the Windows print spooler to the printer called Name); none prints nothing.
	Transport string `yaml:"transport"`
	// Name is the printer's name in Windows (transport windows), e.g. "XP-80C".
	Name string `yaml:"name"`
	// Device is the serial port, USB printer device or file path.
	Device string `yaml:"device"`
	// Baud is the serial speed (default 9600).
	Baud int `yaml:"baud"`
	// Address is host:port for tcp (port 9100 when omitted).
	Address string `yaml:"address"`
	// PaperWidthMM is 58 or 80 (default 80).
	PaperWidthMM int `yaml:"paper_width_mm"`
	// Text chooses how Vietnamese text is sent: raster (default: an image, works on any
	// printer). tcvn3 (the printer's TCVN-3 code page) is reserved and not yet supported.
	Text string `yaml:"text"`
	// NativeQR uses the printer's own QR command (GS ( k); false draws the QR as an
	// image (default true).
	NativeQR *bool `yaml:"native_qr"`
	// Timeout bounds one ticket's printing (default 3s).
	TimeoutMS int `yaml:"timeout_ms"`
}

func (x *Printer) setDefaults() {
	if x.Transport == "" {
		x.Transport = "none"
	}
	if x.Baud == 0 {
		x.Baud = 9600
	}
	if x.PaperWidthMM == 0 {
		x.PaperWidthMM = 80
	}
	if x.Text == "" {
		x.Text = "raster"
	}
	if x.NativeQR == nil {
		t := true
		x.NativeQR = &t
	}
	if x.TimeoutMS == 0 {
		x.TimeoutMS = 3000
	}
	if x.Transport == "tcp" && x.Address != "" && !strings.Contains(x.Address, ":") {
		x.Address += ":9100"
	}
}

func (x *Printer) validate(p *Problems, path string) {
	switch x.Transport {
	case "none":
	case "serial", "usb", "file":
		if x.Device == "" {
			p.Add(path+".device", "required for transport %s", x.Transport)
		}
	case "tcp":
		if err := checkHostPort(x.Address); err != nil {
			p.Add(path+".address", "%v", err)
		}
	case "windows":
		if strings.TrimSpace(x.Name) == "" {
			p.Add(path+".name", "required for transport windows: the printer's name in Windows (motcua-agent devices lists them)")
		}
	default:
		p.Add(path+".transport", "must be none, serial, usb, tcp, file or windows (got %q)", x.Transport)
	}
	if x.PaperWidthMM != 58 && x.PaperWidthMM != 80 {
		p.Add(path+".paper_width_mm", "must be 58 or 80")
	}
	switch x.Text {
	case "raster":
	case "tcvn3":
		p.Add(path+".text", "tcvn3 is not supported yet: use raster (it prints on every printer)")
	default:
		p.Add(path+".text", "must be raster")
	}
	checkRange(p, path+".baud", x.Baud, 1200, 921600)
	checkRange(p, path+".timeout_ms", x.TimeoutMS, 100, 60000)
}

// Display is the call display, LED board and voice.
type Display struct {
	// Device is the serial port of a call display or LED board ("" for none).
	Device string `yaml:"device"`
	Baud   int    `yaml:"baud"`
	// LineFormat is the line sent for each call; {number} and {counter} are replaced.
	// The default "CALL {number} {counter}\r\n" is what our reference board firmware
	// reads; many Vietnamese LED boards take a similar ASCII line.
	LineFormat string `yaml:"line_format"`
	// Voice turns the call-out on the display board page on (default true).
	Voice *bool `yaml:"voice"`
	// Keypad is the serial port of a call keypad ("" for none). Each key press is a
	// line "COUNTER KEY [NUMBER]": "3 NEXT", "3 RECALL", "3 START", "3 FINISH",
	// "3 NOSHOW", "3 CALL 1023".
	Keypad     string `yaml:"keypad"`
	KeypadBaud int    `yaml:"keypad_baud"`
	// RatingKeypad is the serial port of the counters' rating keypads ("" for none):
	// each press is a line "COUNTER RATE LEVEL" ("3 RATE 4", level on the canonical
	// scale 1..5), rating the ticket that counter finished last.
	RatingKeypad string `yaml:"rating_keypad"`
}

func (x *Display) setDefaults() {
	if x.Baud == 0 {
		x.Baud = 9600
	}
	if x.KeypadBaud == 0 {
		x.KeypadBaud = 9600
	}
	if x.LineFormat == "" {
		x.LineFormat = "CALL {number} {counter}\r\n"
	}
	if x.Voice == nil {
		t := true
		x.Voice = &t
	}
}

func (x *Display) validate(p *Problems, path string) {
	if !strings.Contains(x.LineFormat, "{number}") {
		p.Add(path+".line_format", "must contain {number}")
	}
	if len(x.LineFormat) > 200 {
		p.Add(path+".line_format", "too long (at most 200 characters)")
	}
	checkRange(p, path+".baud", x.Baud, 1200, 921600)
	checkRange(p, path+".keypad_baud", x.KeypadBaud, 1200, 921600)
}

// checkRange reports an integer setting outside lo..hi.
func checkRange(p *Problems, path string, v, lo, hi int) {
	if v < lo || v > hi {
		p.Add(path, "must be between %d and %d", lo, hi)
	}
}

// CounterNames are the counters the site names anywhere: the queue's desks, the card
// readers' and the scanners' counters. A write that names another counter (the dossier
// API's counter field) is refused.
func (c *Config) CounterNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, q := range c.Queue.Counters {
		add(q.ID)
	}
	for _, r := range c.Card.Readers {
		add(r.Counter)
	}
	for _, s := range c.Scanners {
		add(s.Counter)
	}
	return out
}
