package config

import (
	"encoding/hex"
	"net/url"
	"time"
)

// Sync configures the upload of counters to the provincial hub (owned by sync). The
// agent is known upstream as site.id / site.device_id; `motcua-hub enroll`
// prints the lines to paste here.
type Sync struct {
	// URL of the provincial hub (https://hub.province.example:8607); empty keeps every
	// counter local.
	URL string `yaml:"url"`
	// Secret is this device's key from `hub enroll` (hex). Prefer SecretFile, a file
	// holding it (mode 0600), so the config can be shared without the key. Relative
	// paths here are against the config file's folder.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// CAFile is the PEM certificate(s) of the CA that signed the hub's certificate, when
	// the province runs its own CA; empty trusts the system's roots.
	CAFile string `yaml:"ca_file"`
	// Interval between pushes when everything is sent (default 1m).
	Interval time.Duration `yaml:"interval"`
	// BatchSize is counter rows per request (default 1000, at most 5000).
	BatchSize int `yaml:"batch_size"`
	// MinBackoff and MaxBackoff bound the wait after failures (defaults 2s and 10m);
	// retries never stop.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Timeout bounds one request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Enabled reports whether counters go upstream.
func (s *Sync) Enabled() bool { return s.URL != "" }

func (s *Sync) setDefaults() {
	if s.Interval == 0 {
		s.Interval = time.Minute
	}
	if s.BatchSize == 0 {
		s.BatchSize = 1000
	}
	if s.MinBackoff == 0 {
		s.MinBackoff = 2 * time.Second
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = 10 * time.Minute
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
}

func (s *Sync) validate(p *Problems, path string) {
	if s.Interval < time.Second || s.Interval > 24*time.Hour {
		p.Add(path+".interval", "must be between 1s and 24h, not %s", s.Interval)
	}
	if s.BatchSize < 1 || s.BatchSize > 5000 {
		p.Add(path+".batch_size", "must be between 1 and 5000, not %d", s.BatchSize)
	}
	if s.MinBackoff < 100*time.Millisecond || s.MinBackoff > time.Hour {
		p.Add(path+".min_backoff", "must be between 100ms and 1h, not %s", s.MinBackoff)
	}
	if s.MaxBackoff < s.MinBackoff || s.MaxBackoff > 24*time.Hour {
		p.Add(path+".max_backoff", "must be between min_backoff and 24h, not %s", s.MaxBackoff)
	}
	if s.Timeout < time.Second || s.Timeout > 10*time.Minute {
		p.Add(path+".timeout", "must be between 1s and 10m, not %s", s.Timeout)
	}
	if s.URL == "" {
		return
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		p.Add(path+".url", "must be http(s)://host[:port] of the provincial hub, with no path (got %q)", s.URL)
	}
	switch {
	case s.Secret == "" && s.SecretFile == "":
		p.Add(path+".secret", "required with sync.url: the secret printed by `motcua-hub enroll` (or set secret_file)")
	case s.Secret != "" && s.SecretFile != "":
		p.Add(path+".secret", "set secret or secret_file, not both")
	case s.Secret != "":
		if b, err := hex.DecodeString(s.Secret); err != nil || len(b) < 16 {
			p.Add(path+".secret", "must be the hex secret printed by `hub enroll` (at least 32 hex digits)")
		}
	}
}

// redacted masks secrets for printing.
func (s Sync) redacted() Sync {
	if s.Secret != "" {
		s.Secret = "********"
	}
	return s
}
