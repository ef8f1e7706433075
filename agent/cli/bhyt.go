package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/bhyt"
)

// bhytCommand is `motcua-agent bhyt …`: check, accounts-example.
func bhytCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return CheckCommand(ctx, args[1:], stdout, stderr)
		case "accounts-example":
			return AccountsExampleCommand(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "usage: motcua-agent "+CheckUsage)
	fmt.Fprintln(stderr, "       motcua-agent bhyt accounts-example > bhyt-accounts.yaml")
	return 2
}

// CheckUsage is the `bhyt check` synopsis.
const CheckUsage = "bhyt check --id ID|--card NUMBER --name NAME --dob DD/MM/YYYY [--config site.yaml | --gateway URL --accounts FILE] [--operator KEY] [--form] [--json]"

// CheckCommand is `motcua-agent bhyt check`: one look-up for a technician, with the
// gateway and accounts of a site's config (or given by flag). It prints the answer; it
// exits 0 on a gateway answer (whatever its result), 1 when there was none, 2 on a
// usage error. It logs nothing.
func CheckCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bhyt check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "site config: its clinic.gateway and clinic.accounts_file")
	gateway := fs.String("gateway", "", "gateway base URL (default the config's, else "+bhyt.ProductionGateway+")")
	accountsPath := fs.String("accounts", "", "accounts file (default the config's clinic.accounts_file)")
	operator := fs.String("operator", "", "operator key in the accounts file (default the first; the facility account when there are none)")
	id := fs.String("id", "", "the patient's 12-digit ID number")
	card := fs.String("card", "", "the insurance card number (instead of --id)")
	name := fs.String("name", "", "the patient's full name")
	dob := fs.String("dob", "", "birth date dd/mm/yyyy (or ddmmyyyy, yyyy-mm-dd, yyyy)")
	form := fs.Bool("form", false, "send the check form-encoded instead of JSON")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	number := *id
	if *card != "" {
		number = *card
	}
	if (*id == "") == (*card == "") || *name == "" || *dob == "" {
		fmt.Fprintln(stderr, "usage: motcua-agent", CheckUsage)
		return 2
	}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath, config.Overrides{})
		if err != nil {
			fmt.Fprintln(stderr, "bhyt check: config:", err)
			return 2
		}
		if *gateway == "" {
			*gateway = cfg.Clinic.Gateway
		}
		if *accountsPath == "" {
			*accountsPath = cfg.Clinic.AccountsFile
		}
	}
	if *gateway == "" {
		*gateway = bhyt.ProductionGateway
	}
	if *accountsPath == "" {
		fmt.Fprintln(stderr, "bhyt check: give --accounts FILE or --config site.yaml")
		return 2
	}
	accounts, err := bhyt.LoadAccounts(*accountsPath)
	if err != nil {
		fmt.Fprintln(stderr, "bhyt check:", err)
		return 2
	}
	acct, err := pickAccount(accounts, *operator)
	if err != nil {
		fmt.Fprintln(stderr, "bhyt check:", err)
		return 2
	}
	c := &bhyt.Client{BaseURL: *gateway, Account: acct, Timeout: *timeout, FormCheck: *form}
	a, err := c.Check(ctx, bhyt.Query{Number: number, Name: *name, Birth: *dob})
	if errors.Is(err, bhyt.ErrBadQuery) {
		fmt.Fprintln(stderr, "bhyt check:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "bhyt check: no answer (%s): %v\n", bhyt.ReasonOf(err), err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(a)
		return 0
	}
	printAnswer(stdout, a)
	return 0
}

func pickAccount(as *bhyt.Accounts, key string) (bhyt.Account, error) {
	switch {
	case key != "":
		if a, ok := as.Operator(key); ok {
			return a, nil
		}
		if as.Facility != nil && as.Facility.Key == key {
			return *as.Facility, nil
		}
		return bhyt.Account{}, fmt.Errorf("no operator %q in the accounts file", key)
	case len(as.Operators) > 0:
		return as.Operators[0], nil
	case as.Facility != nil:
		return *as.Facility, nil
	}
	return bhyt.Account{}, errors.New("the accounts file has no account")
}

func printAnswer(w io.Writer, a bhyt.Answer) {
	fmt.Fprintf(w, "result:     %s (%s)\n", a.Code, a.Reason)
	show := func(label string, c *bhyt.Card) {
		if c == nil {
			return
		}
		fmt.Fprintf(w, "%s %s, valid %s to %s, facility %s\n", label, c.Number, bhyt.DMY(c.ValidFrom), bhyt.DMY(c.ValidTo), c.Facility)
	}
	show("card:      ", a.Card)
	show("new card:  ", a.NewCard)
	if a.OK() {
		fmt.Fprintln(w, "success:    yes (counts as a successful look-up)")
	} else {
		fmt.Fprintln(w, "success:    no")
	}
}

// AccountsExampleCommand is `motcua-agent bhyt accounts-example`: prints an accounts
// file to start from.
func AccountsExampleCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: motcua-agent bhyt accounts-example > bhyt-accounts.yaml")
		return 2
	}
	fmt.Fprint(stdout, bhyt.ExampleAccounts)
	return 0
}

// SimUsage is the `sim bhyt` synopsis.
const SimUsage = "sim bhyt [--listen 127.0.0.1:8617] [--lifetime 10m] [--delay 0s] [--accounts-out FILE]"

// bhytSimCommand is `motcua-agent sim bhyt`: the gateway simulator on loopback with the
// fictional accounts and cards, until ctx ends. Faults are set while it runs with
// POST /sim/faults (see SimFaults) and POST /sim/expire-tokens. --accounts-out writes an
// accounts file (mode 0600) for the simulator's accounts, for a demo agent.
func bhytSimCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim bhyt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8617", "address to serve on")
	lifetime := fs.Duration("lifetime", 10*time.Minute, "token lifetime")
	delay := fs.Duration("delay", 0, "hold every answer this long (a slow gateway)")
	accountsOut := fs.String("accounts-out", "", "write an accounts file for the simulator's accounts here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	s := bhyt.NewSimulator()
	s.Lifetime = *lifetime
	s.SetFaults(bhyt.SimFaults{Delay: *delay})
	addr, err := s.Start(*listen)
	if err != nil {
		fmt.Fprintln(stderr, "sim bhyt:", err)
		return 1
	}
	defer s.Close()
	if *accountsOut != "" {
		if err := bhyt.WriteSimAccounts(*accountsOut); err != nil {
			fmt.Fprintln(stderr, "sim bhyt:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "BHYT gateway simulator on http://%s (wire %s); fictional data only\n", addr, bhyt.WireVersion)
	fmt.Fprintf(stdout, "faults: curl -X POST http://%s/sim/faults -d '{\"down\":true}'   (delay, down, drop, server_errors, malformed, oversized)\n", addr)
	fmt.Fprintf(stdout, "        curl -X POST http://%s/sim/expire-tokens\n", addr)
	fmt.Fprintln(stdout, "accounts (username / password):")
	for _, a := range bhyt.SimAccounts() {
		kind := "a nurse's own account"
		if a.Facility {
			kind = "the facility's account: send the signed-in operator as hoTenCb/cccdCb"
		}
		fmt.Fprintf(stdout, "  %-20s %-16s %s\n", a.Username, a.Password, kind)
	}
	fmt.Fprintln(stdout, "operators the facility registered (hoTenCb / cccdCb):")
	for _, o := range bhyt.SimOperators() {
		fmt.Fprintf(stdout, "  %s / %s\n", o.Name, o.ID)
	}
	fmt.Fprintln(stdout, "cards (id | name | birth → result):")
	for _, c := range s.Cards() {
		fmt.Fprintf(stdout, "  %s | %s | %s → %s\n", c.ID, c.Name, c.Birth, c.Code)
	}
	<-ctx.Done()
	return 0
}
