package config

// Queue configures the ticket queue (owned by the queue flow).
type Queue struct {
	Enabled bool `yaml:"enabled"`
}

func (q *Queue) setDefaults() {}

func (q *Queue) validate(p *Problems, path string) {}

// Printer is the ticket printer.
type Printer struct{}

func (x *Printer) setDefaults() {}

func (x *Printer) validate(p *Problems, path string) {}

// Display is the call display, LED board and voice.
type Display struct{}

func (x *Display) setDefaults() {}

func (x *Display) validate(p *Problems, path string) {}
