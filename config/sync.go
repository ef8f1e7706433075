package config

// Sync configures the upload of counters to the provincial hub (owned by sync).
type Sync struct {
	// URL of the provincial hub; empty keeps every counter local.
	URL string `yaml:"url"`
}

func (s *Sync) setDefaults() {}

func (s *Sync) validate(p *Problems, path string) {}

// redacted masks secrets for printing.
func (s Sync) redacted() Sync { return s }
