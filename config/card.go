package config

import (
	"fmt"
	"strings"
	"time"
)

// Card configures chip ID card reading (owned by the chip-card flow).
type Card struct {
	// Enabled turns on chip-card reading on this PC.
	Enabled bool `yaml:"enabled"`
	// Readers maps PC/SC readers to counters. Name matches a reader whose PC/SC name
	// contains it ("ACS ACR1252", "Virtual PCD 00 00"). With no readers listed every
	// reader serves the counter "1".
	Readers []CardReader `yaml:"readers"`
	// PairWindow is how long a scanned QR or typed keys wait for a card on the same
	// counter (default 60s).
	PairWindow time.Duration `yaml:"pair_window"`
	// ReadTimeout bounds one card read (default 20s).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// TrustDir holds the CSCA certificates (`motcua-agent trust import`); default
	// <data_dir>/trust.
	TrustDir string `yaml:"trust_dir"`
	// Keep says which personal data a verification event may keep in the store;
	// nothing by default (the ID only as the site's keyed hash).
	Keep CardKeep `yaml:"keep"`
	// PhotoFor says, per purpose of the scan that offered the keys (checkin,
	// identity, gate), whether the card read reads DG2, the photo: most of the
	// card's bytes and read time. Defaults: identity yes (the official compares the
	// face), checkin and gate no. Typed keys read as identity; keep.photo forces it.
	PhotoFor map[string]bool `yaml:"photo_for"`
	// Panel shows each read at its counter and types its fields on request.
	Panel CardPanel `yaml:"panel"`
	// Simulation is used when the config's simulate is on: a virtual card plugged
	// into pcscd through vsmartcard-vpcd.
	Simulation CardSimulation `yaml:"simulation"`
}

// CardReader is one reader and the counter it stands on.
type CardReader struct {
	Name    string `yaml:"name"`
	Counter string `yaml:"counter"`
}

// CardKeep lists the personal fields an identity.verified event may store, with the
// purpose that justifies it (required when anything is kept).
type CardKeep struct {
	Name    bool   `yaml:"name"`
	Address bool   `yaml:"address"`
	Photo   bool   `yaml:"photo"`
	Purpose string `yaml:"purpose"`
}

// CardSimulation configures the demo's virtual card.
type CardSimulation struct {
	// Profile is a citizen profile file (testdata/cards/*.json).
	Profile string `yaml:"profile"`
	// VPCD is where vsmartcard-vpcd listens (default 127.0.0.1:35963).
	VPCD string `yaml:"vpcd"`
}

func (c *Card) setDefaults() {
	if c.PairWindow == 0 {
		c.PairWindow = 60 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 20 * time.Second
	}
	defaults := map[string]bool{ScanForIdentity: true, ScanForCheckin: false, ScanForGate: false}
	if c.PhotoFor == nil {
		c.PhotoFor = map[string]bool{}
	}
	for k, v := range defaults {
		if _, set := c.PhotoFor[k]; !set {
			c.PhotoFor[k] = v
		}
	}
	if c.Simulation.VPCD == "" {
		c.Simulation.VPCD = "127.0.0.1:35963"
	}
	for i := range c.Readers {
		if c.Readers[i].Counter == "" {
			c.Readers[i].Counter = "1"
		}
	}
	c.Panel.setDefaults(c.Readers)
}

func (c *Card) validate(p *Problems, path string) {
	if c.PairWindow < time.Second || c.PairWindow > 10*time.Minute {
		p.Add(path+".pair_window", "must be between 1s and 10m, not %s", c.PairWindow)
	}
	if c.ReadTimeout < time.Second || c.ReadTimeout > 2*time.Minute {
		p.Add(path+".read_timeout", "must be between 1s and 2m, not %s", c.ReadTimeout)
	}
	seen := map[string]bool{}
	for i, r := range c.Readers {
		rp := fmt.Sprintf("%s.readers[%d]", path, i)
		if strings.TrimSpace(r.Name) == "" {
			p.Add(rp+".name", "required: the reader's PC/SC name or a part of it")
		}
		if seen[r.Name] {
			p.Add(rp+".name", "reader %q is listed twice", r.Name)
		}
		seen[r.Name] = true
	}
	for k := range c.PhotoFor {
		switch k {
		case ScanForCheckin, ScanForIdentity, ScanForGate:
		default:
			p.Add(path+".photo_for."+k, "unknown purpose: want checkin, identity or gate")
		}
	}
	c.Panel.validate(p, path+".panel")
	if (c.Keep.Name || c.Keep.Address || c.Keep.Photo) && strings.TrimSpace(c.Keep.Purpose) == "" {
		p.Add(path+".keep.purpose", "required when personal data is kept: say why (Law 91/2025 on personal data protection)")
	}
}

// ReadsPhoto says whether a card read for purpose reads DG2 (see PhotoFor); an
// unknown purpose reads it, as a one-stop counter would.
func (c *Card) ReadsPhoto(purpose string) bool {
	if c.Keep.Photo {
		return true
	}
	v, ok := c.PhotoFor[purpose]
	return v || !ok
}

// CounterOf gives the counter a reader stands on, and whether the reader is one
// this site uses.
func (c *Card) CounterOf(reader string) (string, bool) {
	if len(c.Readers) == 0 {
		return "1", true
	}
	for _, r := range c.Readers {
		if strings.Contains(reader, r.Name) {
			return r.Counter, true
		}
	}
	return "", false
}
