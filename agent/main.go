// Command motcua-agent is the service on the PC beside a public-service counter: it
// drives the card reader, scanners, printer, displays and gates, keeps the local record
// and pushes counters to the provincial hub.
//
// main only parses the command line and wires packages together; every capability lives
// in its own package.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand of the CLI.
type command struct {
	Name    string
	Summary string
	Usage   string
	Run     func(ctx context.Context, args []string) int
}

var commands = map[string]command{}

// registerCommand adds a subcommand; each area registers its own from an init().
func registerCommand(c command) {
	if _, dup := commands[c.Name]; dup {
		panic("command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

func main() {
	os.Exit(runCLI(os.Args[1:]))
}

func runCLI(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Printf("usage: motcua-agent %s\n\n%s\n", c.Usage, c.Summary)
				return 0
			}
		}
		usage()
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "motcua-agent: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Run(ctx, args[1:])
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("motcua-agent " + version + ": the agent beside a public-service counter\n\nusage: motcua-agent COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].Summary)
	}
	b.WriteString("\n'motcua-agent help COMMAND' shows a command's flags.\n")
	fmt.Print(b.String())
}

func init() {
	registerCommand(command{Name: "version", Summary: "print the version", Usage: "version",
		Run: func(ctx context.Context, args []string) int { fmt.Println("motcua-agent", version); return 0 }})
}
