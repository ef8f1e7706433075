package config

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Gate configures a tourist-site or relic-site gate: its lanes (each a scanner and an
// optional relay that opens the turnstile), the site's capacity and the day's closing
// time, when visitors who left without scanning out are closed.
type Gate struct {
	Enabled bool `yaml:"enabled"`
	// Capacity is the most visitors allowed inside at once; 0 means no limit.
	Capacity int `yaml:"capacity"`
	// Reserve is kept out of the scanned capacity for staff (groups, guides): scans are
	// refused as "full" once occupancy reaches capacity − reserve.
	Reserve int `yaml:"reserve"`
	// DuplicateWindow: the same code read again on the same lane within it is ignored
	// (scanners read a held QR several times).
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// ClosingTime (HH:MM, site time) closes the day: visitors still inside are counted
	// as reconciled and occupancy starts again at zero. Empty: never.
	ClosingTime string `yaml:"closing_time"`
	// OpeningTime (HH:MM, site time): with ClosingTime, entries are refused as
	// "closed" from the closing time until the next opening time (exits still pass);
	// empty: from the closing time until midnight. Staff who open the site by hand
	// after closing keep it open until the next closing time.
	OpeningTime string `yaml:"opening_time"`
	// Pulse is how long a relay stays closed to let one visitor through (lanes may
	// override it).
	Pulse time.Duration `yaml:"pulse"`
	// TicketPrefix marks the site's e-ticket QR codes (e.g. "VE-KL-").
	TicketPrefix string     `yaml:"ticket_prefix"`
	Lanes        []GateLane `yaml:"lanes"`
}

// Lane directions.
const (
	LaneEntry = "entry"
	LaneExit  = "exit"
	LaneBoth  = "both"
)

// Code kinds a lane may accept.
const (
	KindCCCD       = "cccd"
	KindVNeID      = "vneid"
	KindETicket    = "eticket"
	KindUnreadable = "unreadable"
)

// GateLane is one lane: a direction, optionally a relay, and its scanner, which is
// configured under scanners[] with purpose: gate and lane: <this lane's name>.
type GateLane struct {
	// Name identifies the lane in counters, logs and the lane page URL.
	Name string `yaml:"name"`
	// Title is shown on the lane's screen (Vietnamese), e.g. "Cổng vào số 1".
	Title     string     `yaml:"title"`
	Direction string     `yaml:"direction"`
	Relay     *GateRelay `yaml:"relay"`
	// AllowedKinds lists the codes this lane accepts (cccd, vneid, eticket); default all
	// (eticket only with a ticket prefix).
	AllowedKinds []string `yaml:"allowed_kinds"`
	// Pulse overrides gate.pulse for this lane.
	Pulse time.Duration `yaml:"pulse"`
}

// Relay boards the driver knows; "custom" takes byte sequences from the config.
const (
	RelayLCUS     = "lcus"     // LCUS-1/2/4 (CH340): A0 ch state sum, no answer
	RelayKMTronic = "kmtronic" // KMTronic USB: FF ch state, status query FF ch 03
	RelayCustom   = "custom"
)

// GateRelay is a USB-serial relay board that opens the lane's turnstile or barrier.
type GateRelay struct {
	Port    string `yaml:"port"`
	Baud    int    `yaml:"baud"`
	Board   string `yaml:"board"`
	Channel int    `yaml:"channel"`
	// Close, Release, Query, AnswerClosed and AnswerReleased are hex byte sequences
	// ("A0 01 01 A2") for a custom board. With Query set, every command is confirmed by
	// the board's answer; a board that does not answer puts the lane in fault.
	Close          string `yaml:"close"`
	Release        string `yaml:"release"`
	Query          string `yaml:"query"`
	AnswerClosed   string `yaml:"answer_closed"`
	AnswerReleased string `yaml:"answer_released"`
	// Timeout bounds the wait for an answer.
	Timeout time.Duration `yaml:"timeout"`
}

func (g *Gate) setDefaults() {
	if g.DuplicateWindow == 0 {
		g.DuplicateWindow = 5 * time.Second
	}
	if g.Pulse == 0 {
		g.Pulse = time.Second
	}
	for i := range g.Lanes {
		l := &g.Lanes[i]
		if l.Direction == "" {
			l.Direction = LaneBoth
		}
		if l.Title == "" {
			l.Title = l.Name
		}
		if l.Pulse == 0 {
			l.Pulse = g.Pulse
		}
		if l.AllowedKinds == nil {
			l.AllowedKinds = []string{KindCCCD, KindVNeID}
			if g.TicketPrefix != "" {
				l.AllowedKinds = append(l.AllowedKinds, KindETicket)
			}
		}
		if r := l.Relay; r != nil {
			if r.Board == "" {
				r.Board = RelayLCUS
			}
			if r.Baud == 0 {
				r.Baud = 9600
			}
			if r.Channel == 0 {
				r.Channel = 1
			}
			if r.Timeout == 0 {
				r.Timeout = 300 * time.Millisecond
			}
		}
	}
}

var (
	laneNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	clockRe    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func (g *Gate) validate(p *Problems, path string) {
	if g.Capacity < 0 {
		p.Add(path+".capacity", "must be 0 (no limit) or more")
	}
	if g.Reserve < 0 || (g.Capacity > 0 && g.Reserve >= g.Capacity) {
		p.Add(path+".reserve", "must be 0 or more and less than capacity")
	}
	if g.DuplicateWindow < 0 || g.DuplicateWindow > 10*time.Minute {
		p.Add(path+".duplicate_window", "must be between 0 and 10m")
	}
	if g.ClosingTime != "" && !clockRe.MatchString(g.ClosingTime) {
		p.Add(path+".closing_time", "must be HH:MM in site time, e.g. 17:30 (got %q)", g.ClosingTime)
	}
	if g.OpeningTime != "" {
		oh, om, ok := clock(g.OpeningTime)
		ch, cm, cok := g.ClosingClock()
		switch {
		case !ok:
			p.Add(path+".opening_time", "must be HH:MM in site time, e.g. 07:30 (got %q)", g.OpeningTime)
		case !cok:
			p.Add(path+".opening_time", "needs closing_time: the site closes at closing_time and opens again at opening_time")
		case oh*60+om >= ch*60+cm:
			p.Add(path+".opening_time", "must be before closing_time (%s)", g.ClosingTime)
		}
	}
	if g.Pulse <= 0 || g.Pulse > time.Minute {
		p.Add(path+".pulse", "must be between 1ms and 1m")
	}
	if len(g.TicketPrefix) > 64 {
		p.Add(path+".ticket_prefix", "at most 64 characters")
	}
	if g.Enabled && len(g.Lanes) == 0 {
		p.Add(path+".lanes", "required when the gate is enabled: at least one lane")
	}
	seen := map[string]bool{}
	for i := range g.Lanes {
		l := &g.Lanes[i]
		lp := fmt.Sprintf("%s.lanes[%d]", path, i)
		if !laneNameRe.MatchString(l.Name) {
			p.Add(lp+".name", "required: lower-case letters, digits, '_' or '-', at most 32 (got %q)", l.Name)
		} else if seen[l.Name] {
			p.Add(lp+".name", "lane %q is named twice", l.Name)
		}
		seen[l.Name] = true
		switch l.Direction {
		case LaneEntry, LaneExit, LaneBoth:
		default:
			p.Add(lp+".direction", "must be entry, exit or both (got %q)", l.Direction)
		}
		if l.Pulse <= 0 || l.Pulse > time.Minute {
			p.Add(lp+".pulse", "must be between 1ms and 1m")
		}
		if len(l.AllowedKinds) == 0 {
			p.Add(lp+".allowed_kinds", "must list at least one of cccd, vneid, eticket")
		}
		for j, k := range l.AllowedKinds {
			switch k {
			case KindCCCD, KindVNeID, KindETicket:
				if k == KindETicket && g.TicketPrefix == "" {
					p.Add(fmt.Sprintf("%s.allowed_kinds[%d]", lp, j), "eticket needs gate.ticket_prefix")
				}
			default:
				p.Add(fmt.Sprintf("%s.allowed_kinds[%d]", lp, j), "unknown kind %q (cccd, vneid, eticket)", k)
			}
		}
		if l.Relay != nil {
			l.Relay.validate(p, lp+".relay")
		}
	}
}

func (r *GateRelay) validate(p *Problems, path string) {
	if r.Baud < 1200 || r.Baud > 921600 {
		p.Add(path+".baud", "must be between 1200 and 921600")
	}
	if r.Channel < 1 || r.Channel > 8 {
		p.Add(path+".channel", "must be between 1 and 8")
	}
	if r.Timeout <= 0 || r.Timeout > 10*time.Second {
		p.Add(path+".timeout", "must be between 1ms and 10s")
	}
	seqs := map[string]string{"close": r.Close, "release": r.Release, "query": r.Query,
		"answer_closed": r.AnswerClosed, "answer_released": r.AnswerReleased}
	for name, s := range seqs {
		if _, err := ParseHex(s); err != nil {
			p.Add(path+"."+name, "%v", err)
		}
	}
	switch r.Board {
	case RelayLCUS, RelayKMTronic:
	case RelayCustom:
		if r.Close == "" || r.Release == "" {
			p.Add(path, "a custom board needs close and release byte sequences")
		}
		if r.Query != "" && (r.AnswerClosed == "" || r.AnswerReleased == "") {
			p.Add(path, "a query needs answer_closed and answer_released")
		}
	default:
		p.Add(path+".board", "must be lcus, kmtronic or custom (got %q)", r.Board)
	}
}

// ParseHex reads a byte sequence written as hex, with optional spaces, "0x" or ":"
// ("A0 01 01 A2", "a0010 1a2", "0xA0,0x01"). Empty text is an empty sequence.
func ParseHex(s string) ([]byte, error) {
	if len(s) > 256 {
		return nil, fmt.Errorf("byte sequence too long (at most 256 characters)")
	}
	clean := strings.NewReplacer(" ", "", ",", "", ":", "", "0x", "", "0X", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("not a hex byte sequence: %q (write e.g. \"A0 01 01 A2\")", s)
	}
	return b, nil
}

// Lane returns the lane named name.
func (g *Gate) Lane(name string) (*GateLane, bool) {
	for i := range g.Lanes {
		if g.Lanes[i].Name == name {
			return &g.Lanes[i], true
		}
	}
	return nil, false
}

// ClosingClock is the closing time as hours and minutes (ok false when unset).
func (g *Gate) ClosingClock() (h, m int, ok bool) { return clock(g.ClosingTime) }

// OpeningClock is the opening time as hours and minutes: 00:00 when unset.
func (g *Gate) OpeningClock() (h, m int) {
	h, m, _ = clock(g.OpeningTime)
	return h, m
}

// clock reads HH:MM (ok false when s is not a time of day).
func clock(s string) (h, m int, ok bool) {
	if !clockRe.MatchString(s) {
		return 0, 0, false
	}
	fmt.Sscanf(s, "%d:%d", &h, &m)
	return h, m, true
}
