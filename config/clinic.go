package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"
)

// Clinic configures the reception of a clinic or commune health station: each scanned
// ID card (QR, VNeID, chip) is looked up at the social-insurance gateway for a valid
// health-insurance card, shown on the reception page and counted per station.
type Clinic struct {
	Enabled bool `yaml:"enabled"`
	// Gateway is the social-insurance gateway's base URL (default the production
	// gateway; the training gateway is https://daotaoegw.baohiemxahoi.gov.vn).
	Gateway string `yaml:"gateway"`
	// AccountsFile holds the operators' gateway accounts (and the facility's), outside
	// the record; mode 0600; never logged. Default DATA/secret/bhyt-accounts.yaml.
	AccountsFile string `yaml:"accounts_file"`
	// FacilityFallback lets a station whose operator has no account of their own look
	// up with the facility account, where the guidance still allows it.
	FacilityFallback bool `yaml:"facility_fallback"`
	// Timeout bounds one request to the gateway (default 30s; it often takes 5–30 s).
	Timeout time.Duration `yaml:"timeout"`
	// RetryMin and RetryMax bound the wait between retries of look-ups queued while
	// the gateway is unreachable (defaults 10s and 5m); RetryFor is how long a queued
	// look-up (and the patient's name and ID number in memory) is kept before it is
	// counted as given up (default 2h).
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	RetryFor time.Duration `yaml:"retry_for"`
	// MaxPending bounds the look-ups waiting for the gateway (default 300): past it a
	// new look-up is not kept for retry; it is counted as failed ("queue-full") and the
	// page says to look up again later.
	MaxPending int `yaml:"max_pending"`
	// OtherAgencySuccess counts answers 001 and 002 (cards of the Ministry of Defence's
	// or Public Security's social insurance) as successful look-ups. Provinces differ;
	// the province's report says which rule it uses. Default false: 000, 003 and 004.
	OtherAgencySuccess bool `yaml:"other_agency_success"`
	// RepeatWindow: the same person scanned again at a station within it (the QR then
	// the chip) shows the look-up already made instead of a second one (default 2m).
	RepeatWindow time.Duration `yaml:"repeat_window"`
	// Stations are the reception desks; each matches the counter of its scanners and
	// card reader.
	Stations []ClinicStation `yaml:"stations"`
}

// ClinicStation is one reception desk.
type ClinicStation struct {
	// ID matches scanners[].counter and the card reader's counter.
	ID string `yaml:"id"`
	// Title is shown on the page, e.g. "Bàn tiếp đón số 1".
	Title string `yaml:"title"`
	// Operator is the key, in the accounts file, of the operator who looks up here by
	// default (the nurse may change it on the page).
	Operator string `yaml:"operator"`
}

// Station finds a station by id.
func (c *Clinic) Station(id string) (ClinicStation, bool) {
	for _, s := range c.Stations {
		if s.ID == id {
			return s, true
		}
	}
	return ClinicStation{}, false
}

// ProductionBHYTGateway is the gateway's default address (drivers/bhyt keeps the
// rest of the wire).
const ProductionBHYTGateway = "https://egw.baohiemxahoi.gov.vn"

// setClinicDefaults needs the data folder, so Config.setDefaults calls it.
func (c *Config) setClinicDefaults() {
	k := &c.Clinic
	if k.Gateway == "" {
		k.Gateway = ProductionBHYTGateway
	}
	if k.AccountsFile == "" {
		k.AccountsFile = filepath.Join(c.DataDir, "secret", "bhyt-accounts.yaml")
	}
	k.AccountsFile = c.Resolve(k.AccountsFile)
	if k.Timeout == 0 {
		k.Timeout = 30 * time.Second
	}
	if k.RetryMin == 0 {
		k.RetryMin = 10 * time.Second
	}
	if k.RetryMax == 0 {
		k.RetryMax = 5 * time.Minute
	}
	if k.RetryFor == 0 {
		k.RetryFor = 2 * time.Hour
	}
	if k.MaxPending == 0 {
		k.MaxPending = 300
	}
	if k.RepeatWindow == 0 {
		k.RepeatWindow = 2 * time.Minute
	}
	for i := range k.Stations {
		if k.Stations[i].Title == "" {
			k.Stations[i].Title = "Bàn tiếp đón " + k.Stations[i].ID
		}
	}
}

func (k *Clinic) validate(p *Problems, path string) {
	if u, err := url.Parse(k.Gateway); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Add(path+".gateway", "must be http(s)://host of the social-insurance gateway (got %q)", k.Gateway)
	}
	if k.Timeout < time.Second || k.Timeout > 2*time.Minute {
		p.Add(path+".timeout", "must be between 1s and 2m, not %s", k.Timeout)
	}
	if k.RetryMin < 10*time.Millisecond || k.RetryMin > time.Hour {
		p.Add(path+".retry_min", "must be between 10ms and 1h, not %s", k.RetryMin)
	}
	if k.RetryMax < k.RetryMin || k.RetryMax > 24*time.Hour {
		p.Add(path+".retry_max", "must be between retry_min and 24h, not %s", k.RetryMax)
	}
	if k.RetryFor < time.Minute || k.RetryFor > 24*time.Hour {
		p.Add(path+".retry_for", "must be between 1m and 24h (the patient's data waits in memory that long), not %s", k.RetryFor)
	}
	if k.MaxPending < 1 || k.MaxPending > 10000 {
		p.Add(path+".max_pending", "must be between 1 and 10000 look-ups, not %d", k.MaxPending)
	}
	if k.RepeatWindow < 0 || k.RepeatWindow > time.Hour {
		p.Add(path+".repeat_window", "must be between 0 and 1h, not %s", k.RepeatWindow)
	}
	if k.Enabled && len(k.Stations) == 0 {
		p.Add(path+".stations", "required when enabled: at least one reception desk (id matching its scanners' counter)")
	}
	seen := map[string]bool{}
	for i, s := range k.Stations {
		sp := fmt.Sprintf("%s.stations[%d]", path, i)
		if !idRe.MatchString(s.ID) {
			p.Add(sp+".id", "required: letters, digits, '.', '_' or '-' (the counter of its scanners)")
		}
		if seen[s.ID] {
			p.Add(sp+".id", "%q is used twice", s.ID)
		}
		seen[s.ID] = true
		if s.Operator != "" && !idRe.MatchString(s.Operator) {
			p.Add(sp+".operator", "must be an operator's key in the accounts file")
		}
	}
}
