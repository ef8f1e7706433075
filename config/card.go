package config

// Card configures chip ID card reading (owned by the chip-card flow).
type Card struct {
	// Enabled turns on chip-card reading on this PC.
	Enabled bool `yaml:"enabled"`
}

func (c *Card) setDefaults() {}

func (c *Card) validate(p *Problems, path string) {}
