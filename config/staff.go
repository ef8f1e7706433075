package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Staff lists the officers who sign in at the counters (owned by the queue flow). An
// officer signs in on the counter console by PIN or by tapping their own chip ID card
// on the counter's reader; every call, finish, transfer and no-show then carries the
// officer's id. The list holds no ID number and no PIN: only keyed hashes of them
// (`motcua-agent staff hash`), made with the site's staff key.
type Staff struct {
	// KeyFile holds the site's staff key (hex, made once by `motcua-agent staff key`),
	// resolved against the config's folder. The same staff list goes to every PC of
	// the site with the config, so the key that made its hashes goes with it; it is
	// not the PC's own ID-hash secret (privacy.secret_file), which each PC creates for
	// itself. Default: staff.key beside the config.
	KeyFile string `yaml:"key_file"`
	// Officers who may sign in.
	Officers []Officer `yaml:"officers"`
	// PushFigures would let per-officer figures leave the PC; they never do in this
	// version (officers are people: their figures stay on the agent's own report), so
	// it must stay false.
	PushFigures bool `yaml:"push_figures"`
}

// Officer is one member of staff.
type Officer struct {
	// ID names the officer in the record and the report ("nv01"); never the ID number.
	ID string `yaml:"id"`
	// Name is shown on the console and the agent's report (Vietnamese), never logged.
	Name string `yaml:"name"`
	// PINHash is the keyed hash of the officer's PIN (`motcua-agent staff hash --pin
	// --officer ID`); empty: no PIN sign-in.
	PINHash string `yaml:"pin_hash"`
	// IDHash is the keyed hash of the officer's ID card number (`motcua-agent staff
	// hash`); empty: no card sign-in.
	IDHash string `yaml:"id_hash"`
}

var (
	officerIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)
	hexHashRe   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func (s *Staff) setDefaults(c *Config) {
	if s.KeyFile == "" {
		s.KeyFile = "staff.key"
	}
	s.KeyFile = c.Resolve(s.KeyFile)
}

func (s *Staff) validate(p *Problems, path string) {
	ids := map[string]bool{}
	hashes := map[string]string{}
	for i, o := range s.Officers {
		op := fmt.Sprintf("%s.officers[%d]", path, i)
		if !officerIDRe.MatchString(o.ID) {
			p.Add(op+".id", "must be 1-32 lower-case letters, digits, '.', '_' or '-' (got %q); never an ID number", o.ID)
		}
		if ids[o.ID] {
			p.Add(op+".id", "%q is listed twice", o.ID)
		}
		ids[o.ID] = true
		if strings.TrimSpace(o.Name) == "" || len([]rune(o.Name)) > 80 {
			p.Add(op+".name", "must be 1-80 characters")
		}
		if o.PINHash == "" && o.IDHash == "" {
			p.Add(op, "give pin_hash or id_hash (motcua-agent staff hash), or the officer cannot sign in")
		}
		for _, h := range []struct{ key, v string }{{"pin_hash", o.PINHash}, {"id_hash", o.IDHash}} {
			if h.v == "" {
				continue
			}
			if !hexHashRe.MatchString(h.v) {
				// An ID number or a PIN written here by mistake must not stay in a file.
				p.Add(op+"."+h.key, "must be the 64 hex digits `motcua-agent staff hash` prints, never the number itself")
				continue
			}
			if other, dup := hashes[h.v]; dup {
				p.Add(op+"."+h.key, "the same hash as %s: each officer's card and PIN must be their own", other)
			}
			hashes[h.v] = op + "." + h.key
		}
	}
	if s.PushFigures {
		p.Add(path+".push_figures", "per-officer figures stay on this PC in this version: leave it false")
	}
}

// Rating configures the citizens' satisfaction ratings of finished tickets.
type Rating struct {
	// Enabled turns ratings on: the tablet page, the rating keypad and the link on each
	// ticket's status page.
	Enabled bool `yaml:"enabled"`
	// WindowMinutes is how long after a ticket is finished it may be rated (default 10).
	WindowMinutes int `yaml:"window_minutes"`
	// Levels is how many levels the site shows: 3, 4 or 5 (default 5). They are kept on
	// the canonical scale 1..5: three levels are 1, 3, 5; four are 1, 2, 4, 5.
	Levels int `yaml:"levels"`
	// Reasons a citizen may pick for a low rating (level 3 or less on the canonical
	// scale), in Vietnamese; default a short list.
	Reasons []string `yaml:"reasons"`
	// PromptSeconds is how long the counter's tablet shows the rating after a finish
	// (default 30).
	PromptSeconds int `yaml:"prompt_seconds"`
}

// DefaultRatingReasons are the reasons offered when the config lists none.
var DefaultRatingReasons = []string{"Chờ lâu", "Thái độ chưa tốt", "Hướng dẫn chưa rõ", "Thủ tục phức tạp", "Phải đi lại nhiều lần"}

func (r *Rating) setDefaults() {
	if r.WindowMinutes == 0 {
		r.WindowMinutes = 10
	}
	if r.Levels == 0 {
		r.Levels = 5
	}
	if r.Reasons == nil {
		r.Reasons = append([]string(nil), DefaultRatingReasons...)
	}
	if r.PromptSeconds == 0 {
		r.PromptSeconds = 30
	}
}

func (r *Rating) validate(p *Problems, path string) {
	checkRange(p, path+".window_minutes", r.WindowMinutes, 1, 24*60)
	checkRange(p, path+".prompt_seconds", r.PromptSeconds, 5, 600)
	if r.Levels < 3 || r.Levels > 5 {
		p.Add(path+".levels", "must be 3, 4 or 5")
	}
	if len(r.Reasons) > 12 {
		p.Add(path+".reasons", "at most 12 reasons")
	}
	seen := map[string]bool{}
	for i, s := range r.Reasons {
		if strings.TrimSpace(s) == "" || len([]rune(s)) > 60 {
			p.Add(fmt.Sprintf("%s.reasons[%d]", path, i), "must be 1-60 characters")
		}
		if seen[s] {
			p.Add(fmt.Sprintf("%s.reasons[%d]", path, i), "%q is listed twice", s)
		}
		seen[s] = true
	}
}

// RatingLevels are the canonical levels (1..5) a site with n levels shows, worst first.
func RatingLevels(n int) []int {
	switch n {
	case 3:
		return []int{1, 3, 5}
	case 4:
		return []int{1, 2, 4, 5}
	}
	return []int{1, 2, 3, 4, 5}
}
