package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Lodging configures the night's lodging list at a hospital ward's desk (profile
// hospital): patients and relatives who stay overnight, notified for lodging
// ("thông báo lưu trú", Residence Law 68/2020 art. 30, Circular 55/2021/TT-BCA) before
// 23:00 of the day the stay starts (arrivals after 23:00: before 08:00 the next day),
// through VNeID or the public-service portal under the facility's account. The agent
// keeps the list, encrypted, until it is notified; it never submits it.
type Lodging struct {
	Enabled bool `yaml:"enabled"`
	// Address is the lodging address as the form asks for it: the hospital's.
	Address string `yaml:"address"`
	// Wards are the desks that keep a list; each id is the counter of its scanner and
	// card reader.
	Wards []LodgingWard `yaml:"wards"`
	// Reasons offered on the page; the first is given to a chip or QR read.
	Reasons []string `yaml:"reasons"`
	// StayNights is the default stay: from today to this many days later (default 1).
	StayNights int `yaml:"stay_nights"`
	// Deadline and LateDeadline are the notice deadlines, site time: the same day's
	// Deadline (default 23:00), or the next morning's LateDeadline (default 08:00) for
	// people added at or after Deadline or before LateDeadline.
	Deadline     string `yaml:"deadline"`
	LateDeadline string `yaml:"late_deadline"`
	// WarnBefore: the page and the dashboard warn this long before a deadline while
	// people are not notified (default 1h).
	WarnBefore time.Duration `yaml:"warn_before"`
	// Grace is how long a notified person stays on the list (to correct a mistake)
	// before their data is erased (default 15m); at the deadline everyone's is.
	Grace time.Duration `yaml:"grace"`
	// KeyFile holds the key the list is encrypted with in the record (created on first
	// run, mode 0600; default DATA/secret/lodging.key). Keep it outside the record.
	KeyFile string `yaml:"key_file"`
	// Typing types one person's fields into the focused field of the VNeID or portal
	// form, in the form's order: id, name, birth, sex, nationality, reason, from, to,
	// address, and keys tab, enter, space.
	Typing LodgingTyping `yaml:"typing"`
}

// LodgingWard is one ward desk.
type LodgingWard struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

// LodgingTyping is "type into the focused field" for the lodging form.
type LodgingTyping struct {
	Enabled   bool          `yaml:"enabled"`
	Fields    []string      `yaml:"fields"`
	Countdown time.Duration `yaml:"countdown"`
	Display   string        `yaml:"display"`
}

// LodgingFields are the words lodging.typing.fields may use beside the keys.
var LodgingFields = []string{"id", "name", "birth", "sex", "nationality", "reason", "from", "to", "address"}

// Ward finds a ward by id.
func (l *Lodging) Ward(id string) (LodgingWard, bool) {
	for _, w := range l.Wards {
		if w.ID == id {
			return w, true
		}
	}
	return LodgingWard{}, false
}

// ClockOf reads "HH:MM" as a time of day.
func ClockOf(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a time of day HH:MM, not %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (c *Config) setLodgingDefaults() {
	l := &c.Lodging
	if l.Reasons == nil {
		l.Reasons = []string{"Chăm sóc người bệnh", "Điều trị nội trú"}
	}
	if l.StayNights == 0 {
		l.StayNights = 1
	}
	if l.Deadline == "" {
		l.Deadline = "23:00"
	}
	if l.LateDeadline == "" {
		l.LateDeadline = "08:00"
	}
	if l.WarnBefore == 0 {
		l.WarnBefore = time.Hour
	}
	if l.Grace == 0 {
		l.Grace = 15 * time.Minute
	}
	if l.KeyFile == "" {
		l.KeyFile = filepath.Join(c.DataDir, "secret", "lodging.key")
	}
	l.KeyFile = c.Resolve(l.KeyFile)
	if l.Typing.Fields == nil {
		l.Typing.Fields = []string{"id", "tab", "name", "tab", "birth", "tab", "sex", "tab", "reason", "tab", "from", "tab", "to"}
	}
	if l.Typing.Countdown == 0 {
		l.Typing.Countdown = 3 * time.Second
	}
	for i := range l.Typing.Fields {
		l.Typing.Fields[i] = strings.ToLower(strings.TrimSpace(l.Typing.Fields[i]))
	}
	for i := range l.Wards {
		if l.Wards[i].Title == "" {
			l.Wards[i].Title = "Khoa " + l.Wards[i].ID
		}
	}
}

func (l *Lodging) validate(p *Problems, path string) {
	if l.Enabled && len(l.Wards) == 0 {
		p.Add(path+".wards", "required when enabled: at least one ward desk (id matching its scanner's and card reader's counter)")
	}
	if l.Enabled && strings.TrimSpace(l.Address) == "" {
		p.Add(path+".address", "required when enabled: the lodging address as the form asks for it (the hospital's)")
	}
	seen := map[string]bool{}
	for i, w := range l.Wards {
		wp := fmt.Sprintf("%s.wards[%d]", path, i)
		if !idRe.MatchString(w.ID) {
			p.Add(wp+".id", "required: letters, digits, '.', '_' or '-' (the counter of its scanner)")
		}
		if seen[w.ID] {
			p.Add(wp+".id", "%q is used twice", w.ID)
		}
		seen[w.ID] = true
	}
	if len(l.Reasons) == 0 {
		p.Add(path+".reasons", "at least one reason for the stay")
	}
	if l.StayNights < 1 || l.StayNights > 365 {
		p.Add(path+".stay_nights", "must be between 1 and 365, not %d", l.StayNights)
	}
	d, err1 := ClockOf(l.Deadline)
	if err1 != nil {
		p.Add(path+".deadline", "%v", err1)
	}
	late, err2 := ClockOf(l.LateDeadline)
	if err2 != nil {
		p.Add(path+".late_deadline", "%v", err2)
	}
	if err1 == nil && err2 == nil && late >= d {
		p.Add(path+".late_deadline", "must be earlier in the day than deadline (%s)", l.Deadline)
	}
	if l.WarnBefore < time.Minute || l.WarnBefore > 6*time.Hour {
		p.Add(path+".warn_before", "must be between 1m and 6h, not %s", l.WarnBefore)
	}
	if l.Grace < 0 || l.Grace > 2*time.Hour {
		p.Add(path+".grace", "must be between 0 and 2h, not %s", l.Grace)
	}
	if l.Typing.Countdown < 0 || l.Typing.Countdown > 30*time.Second {
		p.Add(path+".typing.countdown", "must be between 0s and 30s, not %s", l.Typing.Countdown)
	}
	for i, f := range l.Typing.Fields {
		if !contains(LodgingFields, f) && !contains(TypingKeys, f) {
			p.Add(fmt.Sprintf("%s.typing.fields[%d]", path, i), "unknown field %q: want one of %s, or a key: %s", f,
				strings.Join(LodgingFields, ", "), strings.Join(TypingKeys, ", "))
		}
	}
}
