package config

// Scanner is one serial QR scanner (owned by the QR-scanning flow).
type Scanner struct {
	// Name identifies the scanner in logs and on the dashboard.
	Name string `yaml:"name"`
}

func (s *Scanner) setDefaults() {}

func (s *Scanner) validate(p *Problems, path string) {
	if s.Name == "" {
		p.Add(path+".name", "required: a short name for this scanner")
	}
}

// Dossier configures dossier counting and the watched scan folder.
type Dossier struct{}

func (d *Dossier) setDefaults() {}

func (d *Dossier) validate(p *Problems, path string) {}
