// Command motcua-hub is the province's server: it receives the counters that every
// counter PC (motcua-agent) pushes, keeps the province's one set of numbers on SQLite or
// PostgreSQL, serves the statisticians' page, reports and exports, and pushes the
// province's totals on to a national hub.
//
// Every command is listed in `commands` below and wired by hand: a reader sees the
// whole program's shape in this file. Settings come from /etc/motcua-hub/hub.yaml
// (settings.go) with flags over them; secrets (the database password, the report
// token) come from files named there, never from the command line, so ps never shows
// them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

// command is one subcommand: Run gets the arguments after the command's name.
type command struct {
	Name    string
	Summary string
	Usage   string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"serve", "receive the agents' pushes and serve the page, reports and exports",
		"serve [--config FILE] [--listen ADDR] [--db DB] [--key-file F] [--tls-cert F --tls-key F] [--report-token-file F] [--catalogue CSV] [--upstream FILE] [--releases DIR] [--stale-after D] [--open-fleet]",
		cmdServe},
	{"enroll", "enroll a device (an agent, or a provincial hub at the national hub) and print its config lines",
		"enroll [--config FILE] [--db DB] --site SITE --device DEVICE [--province P] [--commune C] [--name N] [--url HUB_URL]",
		cmdEnroll},
	{"revoke", "refuse a device's pushes from now on (its counts stay in the totals)",
		"revoke [--config FILE] [--db DB] --device DEVICE",
		cmdRevoke},
	{"site", "change a site's names after enrollment",
		"site set [--config FILE] [--db DB] --site SITE [--name N] [--province P] [--commune C]",
		cmdSite},
	{"devices", "list the enrolled devices: site, version, last push, state",
		"devices [--config FILE] [--db DB] [--json]",
		cmdDevices},
	{"release", "signed agent releases: make the keys, sign a version, re-sign the hub's timestamp",
		"release init --dir DIR | publish --dir DIR --version V [--exe FILE] [--deb FILE] [--linux FILE] | refresh --dir DIR",
		cmdRelease},
	{"rollout", "roll a signed release out in stages: canary sites, then a growing share of the devices; halts by itself on failures",
		"rollout start --release V --percent P [--sites S1,S2] [--canary S3,S4] [--halt-at 0.05] [--min-sample 20] [--releases DIR]\n" +
			"       rollout advance --percent P | halt [--reason TEXT] | resume [--halt-at F] | status [--json]",
		cmdRollout},
	{"config", "publish a configuration (or a part of one) to a site, a commune or the province; list what runs where",
		"config publish [--config FILE] [--db DB] --site SITE|--commune C|--all [--version V] FILE | config list [--json]",
		cmdConfig},
	{"version", "print the version", "version", cmdVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := find(args[1]); ok {
				fmt.Fprintf(stdout, "usage: motcua-hub %s\n\n%s\n", c.Usage, c.Summary)
				return 0
			}
			fmt.Fprintf(stderr, "motcua-hub: unknown command %q\n", args[1])
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := find(args[0])
	if !ok {
		fmt.Fprintf(stderr, "motcua-hub: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Run(ctx, args[1:], stdout, stderr)
}

func find(name string) (command, bool) {
	for _, c := range commands {
		if c.Name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	var b strings.Builder
	b.WriteString("motcua-hub " + version + ": the provincial hub of motcua-agent\n\nusage: motcua-hub COMMAND [flags]\n\ncommands:\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "  %-8s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(&b, "\nSettings: %s (or --config FILE, or $MOTCUA_HUB_CONFIG); flags override them.\n'motcua-hub help COMMAND' shows a command's flags.\n", defaultSettingsPath)
	fmt.Fprint(w, b.String())
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "motcua-hub version: unexpected %q\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, "motcua-hub", version)
	return 0
}
