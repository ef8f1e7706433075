package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"motcua-agent/agent/app"
	"motcua-agent/drivers/pcsc"
)

var cardCommands = []command{
	{Name: "card", Summary: "read and verify a chip ID card; list card readers",
		Usage: CardReadUsage + "\n       motcua-agent card readers", Run: cmdCard},
	{Name: "trust", Summary: "import CSCA certificates or an ICAO master list into the trust store",
		Usage: "trust import [--config FILE] [--data DIR] [--trust DIR] FILE", Run: cmdTrust},
	{Name: "sim", Summary: "run a simulated device: a virtual chip ID card on vsmartcard-vpcd, or the health-insurance gateway",
		Usage: SimCardUsage + "\n       motcua-agent sim bhyt [--listen ADDR] [--lifetime D] [--delay D] [--accounts-out FILE]", Run: cmdSim},
	{Name: "bhyt", Summary: "look up one patient's health insurance at the social-insurance gateway",
		Usage: "bhyt check --id|--card … --name … --dob … [--config FILE | --gateway URL --accounts FILE] [--operator KEY] [--json] | bhyt accounts-example",
		Run:   func(ctx context.Context, args []string) int { return bhytCommand(ctx, args, os.Stdout, os.Stderr) }},
}

func cmdCard(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent", CardReadUsage, "\n       motcua-agent card readers")
		return 2
	}
	switch args[0] {
	case "read":
		return CardRead(ctx, args[1:], os.Stdout, os.Stderr)
	case "readers":
		readers, err := pcsc.ListReaders(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "card readers:", err)
			return 1
		}
		if len(readers) == 0 {
			fmt.Println("no card reader attached")
		}
		for _, r := range readers {
			state := "empty"
			if r.CardPresent {
				state = fmt.Sprintf("card present, ATR % X", r.ATR)
			}
			ext, known := pcsc.ATRExtendedLength(r.ATR)
			if r.CardPresent && known {
				state += fmt.Sprintf(", extended length %v", ext)
			}
			fmt.Printf("%s: %s\n", r.Name, state)
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "card: unknown subcommand %q (read, readers)\n", args[0])
	return 2
}

func cmdTrust(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent trust import [--config FILE] [--data DIR] [--trust DIR] FILE")
		return 2
	}
	fs := flag.NewFlagSet("trust import", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	dir := fs.String("trust", "", "trust store folder (default: card.trust_dir of the config)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dir == "" {
		cfg, err := cf.load()
		if err != nil {
			return printConfigError(err)
		}
		*dir = app.TrustDir(cfg)
	}
	return TrustImport(ctx, *dir, fs.Args(), os.Stdout, os.Stderr)
}

func cmdSim(ctx context.Context, args []string) int {
	switch {
	case len(args) > 0 && args[0] == "card":
		return SimCard(ctx, args[1:], os.Stdout, os.Stderr)
	case len(args) > 0 && args[0] == "bhyt":
		return bhytSimCommand(ctx, args[1:], os.Stdout, os.Stderr)
	}
	fmt.Fprintln(os.Stderr, "usage: motcua-agent", SimCardUsage, "\n       motcua-agent sim bhyt [--listen ADDR]")
	return 2
}
