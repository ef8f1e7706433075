// Command motcua-agent is the service on the PC beside a public-service counter: it
// drives the card reader, scanners, printer, displays and gates, keeps the local record
// and pushes counters to the provincial hub. Its parts are listed in agent/app/parts.go,
// its subcommands in agent/cli/main.go.
package main

import (
	"os"

	"motcua-agent/agent/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
