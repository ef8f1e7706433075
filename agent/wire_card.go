package main

import (
	"path/filepath"

	"motcua-agent/config"
)

// trustDir is the CSCA trust store folder of a site.
func trustDir(cfg *config.Config) string {
	if cfg.Card.TrustDir != "" {
		return cfg.Resolve(cfg.Card.TrustDir)
	}
	return filepath.Join(cfg.DataDir, "trust")
}
