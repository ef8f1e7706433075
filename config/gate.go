package config

// Gate configures tourist-site gates (owned by the gate flow).
type Gate struct {
	Enabled bool `yaml:"enabled"`
}

func (g *Gate) setDefaults() {}

func (g *Gate) validate(p *Problems, path string) {}
