// Command example prints a profile's example config in its Windows form (spooler
// printer by name, COM ports), for the installer to ship:
//
//	go run ./packaging/windows/example counter > site-example.yaml
package main

import (
	"fmt"
	"os"

	"motcua-agent/config"
)

func main() {
	profile := "counter"
	if len(os.Args) > 1 {
		profile = os.Args[1]
	}
	b, err := config.ExampleFor(profile, "windows")
	if err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(2)
	}
	os.Stdout.Write(b)
}
