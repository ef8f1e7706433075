// Package cli is motcua-agent's command line: one function per subcommand, each parsing
// its flags and calling the packages that do the work. The list of subcommands is
// `commands` in main.go.
package cli

import (
	"context"
	"fmt"
	"motcua-agent/agent/app"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of the CLI.
type command struct {
	Name    string
	Summary string
	Usage   string
	Run     func(ctx context.Context, args []string) int
}

// commands is every subcommand, by name.
var commands = index(
	[]command{{Name: "version", Summary: "print the version", Usage: "version", Run: cmdVersion}},
	runCommands, serviceCommands, devicesCommands, cardCommands, scanCommands,
	queueCommands, recordCommands, storeCommands, syncCommands, updateCommands, staffCommands,
)

func index(groups ...[]command) map[string]command {
	m := map[string]command{}
	for _, g := range groups {
		for _, c := range g {
			if _, dup := m[c.Name]; dup {
				panic("command listed twice: " + c.Name)
			}
			m[c.Name] = c
		}
	}
	return m
}

func cmdVersion(ctx context.Context, args []string) int {
	fmt.Println("motcua-agent", app.Version)
	return 0
}

// Main runs the command line args (without the program name) and returns the exit code.
func Main(args []string) int {
	return runCLI(args)
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
		if args[0] == "hub" {
			fmt.Fprintln(os.Stderr, "The provincial hub is its own program: motcua-hub serve|enroll|revoke|site|devices (make build-hub, or the motcua-hub package).")
			return 2
		}
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
	b.WriteString("motcua-agent " + app.Version + ": the agent beside a public-service counter\n\nusage: motcua-agent COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].Summary)
	}
	b.WriteString("\n'motcua-agent help COMMAND' shows a command's flags.\n")
	fmt.Print(b.String())
}
