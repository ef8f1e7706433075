package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"motcua-agent/agent/app"
)

var storeCommands = []command{
	{Name: "store", Summary: "send what a moved-aside (damaged or replaced) record still holds to the hub",
		Usage: "store recover [--config FILE] [--data DIR] FILE", Run: cmdStore},
}

func cmdStore(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "recover" {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent store recover [--config FILE] [--data DIR] FILE")
		return 2
	}
	fs := flag.NewFlagSet("store recover", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent store recover [--config FILE] [--data DIR] FILE")
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		return printConfigError(err)
	}
	if !cfg.Sync.Enabled() {
		fmt.Fprintln(os.Stderr, "motcua-agent store recover: sync is not configured (sync.url, sync.secret): nowhere to send the record")
		return 1
	}
	res, err := app.Recover(ctx, cfg, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent store recover:", err)
		if res.Opened {
			fmt.Fprintln(os.Stderr, "Nothing is lost: run the command again when the hub answers; it never counts a row twice.")
		} else {
			fmt.Fprintln(os.Stderr, "Nothing was sent: a file SQLite cannot read at all cannot be recovered.")
		}
		return 1
	}
	fmt.Printf("Sent %d counter rows from %s; the hub keeps each at its newest revision, so a second run adds nothing.\n",
		res.Sent, fs.Arg(0))
	if res.Legacy > 0 {
		fmt.Printf("Left out %d rows written before epochs (agent versions before schema 2): the hub cannot tell them from the live record's own.\n",
			res.Legacy)
	}
	return 0
}
