// Package wire is the versioned push protocol between a site's agent and the provincial
// hub (PROTOCOL.md in the sync folder): the body types, their limits and validation, and
// request signing. Both the upload client and the hub import it; it imports neither.
//
// Nothing in it may carry personal data: only counters by day, metric and dimensions,
// and a heartbeat of versions and device states.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SchemaVersion is the newest push body a hub speaks (and says in its answers).
// Version 2 added the snapshot's epoch and the response's max_rev; version 3 the names
// catalogue; version 4 fleet steering (the heartbeat's config and update states, the
// answer's config and release offers). A hub still accepts MinSchemaVersion and up, so agents can be upgraded
// after their hub; an agent sends version 3 only to a hub that answered with 3 or more.
const SchemaVersion = 4

// SteeringSchema is the first push body that may carry config and update states.
const SteeringSchema = 4

// NamesSchema is the first push body that may carry names.
const NamesSchema = 3

// PlainSchema is the body an agent sends without names: every hub from schema 2 on
// reads it.
const PlainSchema = 2

// MinSchemaVersion is the oldest push body the hub accepts.
const MinSchemaVersion = 1

// PushPath is the only endpoint an agent calls.
const PushPath = "/api/v1/push"

// Limits the hub enforces and the client respects, so a well-behaved agent never trips
// them.
const (
	MaxSnapshotsPerPush = 5000
	MaxBodyBytes        = 4 << 20  // as sent (possibly gzip)
	MaxDecodedBytes     = 32 << 20 // after gunzip: caps zip bombs
	MaxDims             = 8
	MaxNameLen          = 64
	MaxDimValueLen      = 64
	MaxValue            = 1_000_000_000 // no counter at one site reaches a billion in a day
	MaxDevicesInBeat    = 64
	MaxBeatTextLen      = 200
	MaxNamesPerPush     = 2000
	MaxNameTextLen      = 400 // bytes of a name people read (UTF-8: a long service name)
	// MaxRevision bounds a revision: an agent's record counts its revisions from 1, one
	// per change, and 2^53 is exact in every JSON reader. A larger one would make its
	// row unchangeable for ever.
	MaxRevision = 1 << 53
	// MaxClockAhead bounds how far ahead of the hub's day a heartbeat's clock may be.
	// Behind, it may go back to 1970: a PC whose clock battery died shows 1970 or 2000
	// and still pushes (it signs with the hub's offset); refusing it would stop that
	// site's counters, and the fleet view is there to show exactly that clock.
	MaxClockAhead = 3 * 366 * 24 * time.Hour
)

// Snapshot is the absolute value of one counter row at one revision. Sending the same
// snapshot twice changes nothing; a higher revision replaces a lower one.
type Snapshot struct {
	Day      string            `json:"day"` // YYYY-MM-DD in the site's time zone
	Metric   string            `json:"metric"`
	Dims     map[string]string `json:"dims,omitempty"`
	Value    int64             `json:"value"`
	Revision int64             `json:"rev"`
	// Epoch (schema 2) names the opening of the agent's record that counted this
	// value. A row's epochs are separate rows at the hub, summed in every total (a peak
	// takes the largest), so a record that was replaced or restored from an older copy
	// adds to what the hub holds instead of overwriting it. Empty in schema 1.
	Epoch string `json:"epoch,omitempty"`
}

// DeviceState is one peripheral's health as the fleet view shows it. Detail is an
// English reason; no personal data.
type DeviceState struct {
	Name   string `json:"name"`
	Kind   string `json:"kind,omitempty"`
	State  string `json:"state"` // ok, degraded, fault, absent
	Detail string `json:"detail,omitempty"`
}

// Heartbeat rides along with every push so the province sees its fleet.
type Heartbeat struct {
	Version string        `json:"version"`
	Clock   time.Time     `json:"clock"`   // the agent's own clock, uncorrected
	Backlog int64         `json:"backlog"` // counter rows still waiting once this push is acknowledged
	Devices []DeviceState `json:"devices,omitempty"`
	// Config (schema 4) is the configuration the agent runs and what became of the last
	// one the hub offered it.
	Config *ConfigState `json:"config,omitempty"`
	// Update (schema 4) is where the agent's self-update stands.
	Update *UpdateState `json:"update,omitempty"`
}

// ConfigState is the heartbeat's account of the agent's configuration (schema 4).
type ConfigState struct {
	// Version is the hub-published configuration version the agent runs; empty when it
	// runs only its local file.
	Version string `json:"version,omitempty"`
	// Source says which configuration wins at this PC: "hub" (the published one is
	// applied) or "local" (a technician's edit of the local file wins, and the hub's
	// offers are held back until the edit is handed back).
	Source string `json:"source"`
	// Refused is the last offered version the agent refused, and Reason why (English,
	// for the fleet page: the check's first problem, or "not healthy within 2m").
	Refused string `json:"refused,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// UpdateState is the heartbeat's account of the agent's self-update (schema 4).
type UpdateState struct {
	// Running is the version serving now; Trial the version on trial (not yet
	// committed), if any.
	Running string `json:"running"`
	Trial   string `json:"trial,omitempty"`
	// Outcome of the last attempt: "", "committed", "rolled_back", "refused" (the
	// release failed its verification) or "failed" (download or apply failed), with the
	// version it concerned and why (English).
	Outcome string `json:"outcome,omitempty"`
	Version string `json:"version,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// PushRequest is the body of POST /api/v1/push.
type PushRequest struct {
	Schema    int        `json:"schema"`
	Site      string     `json:"site"`
	Device    string     `json:"device"`
	Snapshots []Snapshot `json:"snapshots"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	// Names (schema 3) are what the site calls the codes its rows carry, sent when they
	// change; the hub keeps the latest name per site, kind and code. Never dims.
	Names []Name `json:"names,omitempty"`
}

// Name kinds: the dimension a code is a value of, or the site itself.
const (
	NameService = "service"
	NameCounter = "counter"
	NameStation = "station"
	NameLane    = "lane"
	NameWard    = "ward" // a hospital ward's desk (the lodging list)
	NameSite    = "site" // the code is a site's; a provincial hub names its sites to the nation
)

// Name is one code's name for people (Vietnamese), e.g. service "A" → "Chứng thực, hộ
// tịch". Site is empty for the pushing site's own codes; a provincial hub pushing to
// the national hub names the codes of each of its sites.
type Name struct {
	Site string `json:"site,omitempty"`
	Kind string `json:"kind"`
	Code string `json:"code"`
	Name string `json:"name"`
}

func (n *Name) validate() error {
	switch n.Kind {
	case NameService, NameCounter, NameStation, NameLane, NameWard, NameSite:
	default:
		return fmt.Errorf("kind %q is not one of service, counter, station, lane, ward, site", n.Kind)
	}
	if n.Site != "" && !ValidName(n.Site) {
		return fmt.Errorf("site %q is not a valid name", n.Site)
	}
	if n.Code == "" || len(n.Code) > MaxDimValueLen {
		return fmt.Errorf("%s code: empty or longer than %d bytes", n.Kind, MaxDimValueLen)
	}
	if strings.TrimSpace(n.Name) == "" || len(n.Name) > MaxNameTextLen || !utf8.ValidString(n.Name) {
		return fmt.Errorf("%s %.40q: the name is empty, longer than %d bytes or not UTF-8", n.Kind, n.Code, MaxNameTextLen)
	}
	for _, r := range n.Name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %.40q: the name holds a control character", n.Kind, n.Code)
		}
	}
	return nil
}

// PushResponse is the hub's answer to an accepted push. Ack is the highest revision of
// the request, now durable at the hub: the client's new watermark.
type PushResponse struct {
	Schema   int       `json:"schema"`
	Accepted int       `json:"accepted"` // rows stored or replaced
	Ignored  int       `json:"ignored"`  // rows the hub already had at this or a newer revision
	Ack      int64     `json:"ack"`
	HubTime  time.Time `json:"hub_time"`
	// MaxRevision (schema 2) is the highest revision the hub holds from this device,
	// over every epoch. An agent whose record's last revision is below it is running
	// on a record that went back in time (restored from an older copy, or replaced).
	MaxRevision int64 `json:"max_rev,omitempty"`
	// Config (schema 4) offers a configuration published for this device's site,
	// commune or the whole province, when it differs from the one its heartbeat said it
	// runs.
	Config *ConfigOffer `json:"config,omitempty"`
	// Release (schema 4) names the release this device should run, when a rollout
	// includes it and its heartbeat said it runs another.
	Release *ReleaseOffer `json:"release,omitempty"`
}

// ConfigOffer is a published configuration the agent should check and apply.
type ConfigOffer struct {
	Version string `json:"version"`
	// SHA256 is the hex digest of the configuration's bytes, fetched apart (see
	// PROTOCOL.md, "Steering"), so a push answer stays small.
	SHA256 string `json:"sha256"`
}

// ReleaseOffer is the release a rollout assigns to the device.
type ReleaseOffer struct {
	Version string `json:"version"`
	// Rollout names the rollout (and its stage) that assigned it, for the agent's log.
	Rollout string `json:"rollout,omitempty"`
}

// ErrorResponse is the body of every 4xx/5xx the hub sends.
type ErrorResponse struct {
	Code    string    `json:"error"`   // one of the Code* constants
	Message string    `json:"message"` // English, for logs and technicians
	HubTime time.Time `json:"hub_time"`
}

// Error codes in ErrorResponse.Code.
const (
	CodeMissingAuth   = "missing_auth"
	CodeUnknownDevice = "unknown_device"
	CodeBadSignature  = "bad_signature"
	// CodeOverBudget (429): the device or its site holds as many distinct rows as the
	// hub allows; nothing of the push was stored.
	CodeOverBudget = "over_budget"
	CodeClockSkew  = "clock_skew"
	CodeReplay     = "replay"
	CodeRevoked    = "revoked"
	CodeMalformed  = "malformed"
	CodeTooLarge   = "too_large"
	CodeSchema     = "unsupported_schema"
	CodeInvalid    = "invalid"
	CodeWrongSite  = "wrong_site"
	CodeInternal   = "internal"
	// CodeBusy (503, with Retry-After): the hub is receiving as many pushes as it takes
	// at once; retry later.
	CodeBusy = "busy"
)

// ValidName reports whether s may be used as a site, device, metric or dimension key:
// an ASCII letter or digit, then letters, digits, '.', '_', ':' or '-'. (A loop over the
// bytes: the hub checks every name of every push, and a regular expression was a
// twentieth of its CPU.)
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != ':' && c != '-') {
			return false
		}
	}
	return true
}

// isDayForm reports whether s is four ASCII digits, '-', two digits, '-', two digits.
func isDayForm(s string) bool {
	if len(s) != len("2006-01-02") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DayOf is the calendar day of t in loc, in the form ParseDay gives (midnight UTC).
func DayOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseDay parses a YYYY-MM-DD day and rejects anything else.
func ParseDay(s string) (time.Time, error) {
	if !isDayForm(s) {
		return time.Time{}, fmt.Errorf("day %q is not YYYY-MM-DD", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: %w", s, err)
	}
	return t, nil
}

// ErrInvalid marks a request whose content breaks the protocol's rules.
var ErrInvalid = errors.New("invalid push")

// Validate checks a decoded push against the protocol. today is the hub's day; days
// from 2000-01-01 up to a year after it are accepted (an agent may come back after
// months offline, and its clock may be ahead by days).
func (p *PushRequest) Validate(today time.Time) error {
	if p.Schema < MinSchemaVersion || p.Schema > SchemaVersion {
		return fmt.Errorf("%w: schema %d, this hub speaks %d to %d", ErrSchema, p.Schema, MinSchemaVersion, SchemaVersion)
	}
	if !ValidName(p.Site) || !ValidName(p.Device) {
		return fmt.Errorf("%w: site and device must be short names of letters, digits, '.', '_', ':', '-'", ErrInvalid)
	}
	if len(p.Snapshots) > MaxSnapshotsPerPush {
		return fmt.Errorf("%w: %d snapshots, at most %d per push", ErrInvalid, len(p.Snapshots), MaxSnapshotsPerPush)
	}
	earliest := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := today.AddDate(1, 0, 0)
	for i := range p.Snapshots {
		if err := p.Snapshots[i].Validate(earliest, latest); err != nil {
			return fmt.Errorf("%w: snapshot %d: %w", ErrInvalid, i, err)
		}
		if p.Schema < 2 && p.Snapshots[i].Epoch != "" {
			return fmt.Errorf("%w: snapshot %d: epoch needs schema 2", ErrInvalid, i)
		}
	}
	if p.Heartbeat != nil {
		if err := p.Heartbeat.validate(today); err != nil {
			return fmt.Errorf("%w: heartbeat: %w", ErrInvalid, err)
		}
	}
	if p.Heartbeat != nil && (p.Heartbeat.Config != nil || p.Heartbeat.Update != nil) && p.Schema < SteeringSchema {
		return fmt.Errorf("%w: config and update states need schema %d", ErrInvalid, SteeringSchema)
	}
	if len(p.Names) > 0 && p.Schema < NamesSchema {
		return fmt.Errorf("%w: names need schema %d", ErrInvalid, NamesSchema)
	}
	if len(p.Names) > MaxNamesPerPush {
		return fmt.Errorf("%w: %d names, at most %d per push", ErrInvalid, len(p.Names), MaxNamesPerPush)
	}
	for i := range p.Names {
		if err := p.Names[i].validate(); err != nil {
			return fmt.Errorf("%w: name %d: %w", ErrInvalid, i, err)
		}
	}
	return nil
}

// ErrSchema marks a push in a schema version the hub does not speak.
var ErrSchema = errors.New("unsupported schema")

// Validate checks one snapshot against the limits, with its day between earliest and latest.
func (s *Snapshot) Validate(earliest, latest time.Time) error {
	day, err := ParseDay(s.Day)
	if err != nil {
		return err
	}
	if day.Before(earliest) || day.After(latest) {
		return fmt.Errorf("day %s is outside %s..%s", s.Day, earliest.Format(time.DateOnly), latest.Format(time.DateOnly))
	}
	if !ValidName(s.Metric) {
		return fmt.Errorf("metric %q is not a valid name", s.Metric)
	}
	if s.Epoch != "" && !ValidName(s.Epoch) {
		return fmt.Errorf("epoch %q is not a valid name", s.Epoch)
	}
	if len(s.Dims) > MaxDims {
		return fmt.Errorf("%d dimensions, at most %d", len(s.Dims), MaxDims)
	}
	for k, v := range s.Dims {
		if !ValidName(k) {
			return fmt.Errorf("dimension key %q is not a valid name", k)
		}
		if len(v) > MaxDimValueLen {
			return fmt.Errorf("dimension %s is longer than %d bytes", k, MaxDimValueLen)
		}
	}
	if s.Value < 0 || s.Value > MaxValue {
		return fmt.Errorf("value %d is outside 0..%d", s.Value, int64(MaxValue))
	}
	if s.Revision <= 0 || s.Revision > MaxRevision {
		return fmt.Errorf("revision %d is outside 1..2^53", s.Revision)
	}
	return nil
}

func (h *Heartbeat) validate(today time.Time) error {
	if !h.Clock.IsZero() && (h.Clock.Before(time.Unix(0, 0)) || h.Clock.Sub(today) > MaxClockAhead) {
		return fmt.Errorf("clock %s is outside 1970 … 3 years after the hub's day %s", h.Clock.UTC().Format(time.RFC3339), today.Format(time.DateOnly))
	}
	if len(h.Version) > MaxBeatTextLen {
		return fmt.Errorf("version longer than %d bytes", MaxBeatTextLen)
	}
	if h.Backlog < 0 {
		return fmt.Errorf("backlog %d is negative", h.Backlog)
	}
	if len(h.Devices) > MaxDevicesInBeat {
		return fmt.Errorf("%d devices, at most %d", len(h.Devices), MaxDevicesInBeat)
	}
	for _, d := range h.Devices {
		if len(d.Name) > MaxBeatTextLen || len(d.Kind) > MaxBeatTextLen ||
			len(d.State) > MaxBeatTextLen || len(d.Detail) > MaxBeatTextLen {
			return fmt.Errorf("device %.40q: a field is longer than %d bytes", d.Name, MaxBeatTextLen)
		}
	}
	if c := h.Config; c != nil {
		if c.Source != "hub" && c.Source != "local" {
			return fmt.Errorf("config source %.40q is not hub or local", c.Source)
		}
		if len(c.Version) > MaxBeatTextLen || len(c.Refused) > MaxBeatTextLen || len(c.Reason) > MaxBeatTextLen {
			return fmt.Errorf("config: a field is longer than %d bytes", MaxBeatTextLen)
		}
	}
	if u := h.Update; u != nil {
		switch u.Outcome {
		case "", "committed", "rolled_back", "refused", "failed":
		default:
			return fmt.Errorf("update outcome %.40q is not one of committed, rolled_back, refused, failed", u.Outcome)
		}
		if len(u.Running) > MaxBeatTextLen || len(u.Trial) > MaxBeatTextLen || len(u.Version) > MaxBeatTextLen || len(u.Reason) > MaxBeatTextLen {
			return fmt.Errorf("update: a field is longer than %d bytes", MaxBeatTextLen)
		}
	}
	return nil
}

// MaxRevision is the highest revision in the push, the watermark it acknowledges.
func (p *PushRequest) MaxRevision() int64 {
	var m int64
	for _, s := range p.Snapshots {
		m = max(m, s.Revision)
	}
	return m
}

// CanonicalDims is the stable text form of a dimension map (keys sorted), used as part
// of a row's identity at the hub.
func CanonicalDims(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(d) // maps marshal with sorted keys; strings cannot fail
	return string(b)
}
