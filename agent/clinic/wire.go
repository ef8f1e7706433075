package clinic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"motcua-agent/config"
	"motcua-agent/drivers/bhyt"
)

// LoadAccounts reads the clinic's gateway accounts (clinic.accounts_file). A missing or
// unreadable file is logged, without its content, and gives nil: the flow still runs,
// and each look-up is shown and counted as "no account" until the file is fixed.
func LoadAccounts(cfg *config.Config, log *slog.Logger) *bhyt.Accounts {
	as, err := bhyt.LoadAccounts(cfg.Clinic.AccountsFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%s does not exist: create it from `motcua-agent bhyt accounts-example` (mode 0600)", cfg.Clinic.AccountsFile)
		}
		log.Error("clinic: no gateway accounts; look-ups cannot be made", "err", err)
		return nil
	}
	for _, s := range cfg.Clinic.Stations {
		if _, ok := as.Operator(s.Operator); !ok && !(cfg.Clinic.FacilityFallback && as.Facility != nil) {
			log.Warn("clinic: a station's operator has no account in the accounts file", "station", s.ID, "operator", s.Operator)
		}
	}
	return as
}

// Simulate starts the gateway simulator on a free loopback port for a config with
// simulate: true (the demo), points clinic.gateway at it and, when the accounts file
// does not exist, writes the simulator's fictional accounts there. The simulator stops
// when ctx ends. Faults can be put on while it runs: POST <gateway>/sim/faults.
func Simulate(ctx context.Context, cfg *config.Config) (*bhyt.Simulator, error) {
	if !cfg.Simulate {
		return nil, errors.New("clinic: the gateway simulator runs only with simulate: true")
	}
	s := bhyt.NewSimulator()
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); s.Close() }()
	cfg.Clinic.Gateway = s.URL()
	if _, err := os.Stat(cfg.Clinic.AccountsFile); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(cfg.Clinic.AccountsFile), 0o700); err != nil {
			s.Close()
			return nil, fmt.Errorf("clinic simulation: %w", err)
		}
		if err := bhyt.WriteSimAccounts(cfg.Clinic.AccountsFile); err != nil {
			s.Close()
			return nil, fmt.Errorf("clinic simulation: %w", err)
		}
	}
	return s, nil
}

// DemoScans are ID-card QR payloads of the simulator's fictional insured people (a
// valid card, a replaced one, an expired one, a reduced one): what a demo scanner can
// play at a reception station.
func DemoScans() []string {
	var out []string
	for _, c := range bhyt.SimCards() {
		if len(c.Birth) != 10 { // a card QR always has the full date
			continue
		}
		switch c.Code {
		case "000", "003", "010", "120":
			out = append(out, cardQR(c))
		}
	}
	return out
}

// cardQR is the ID card QR of a fictional insured person.
func cardQR(c bhyt.SimCard) string {
	return c.ID + "||" + c.Name + "|" + strings.ReplaceAll(c.Birth, "/", "") + "|" + c.Sex + "|" + c.Address + "|15082025"
}
