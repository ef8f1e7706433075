// Command gen rebuilds the test PKIs and portraits of testdata/cards:
//
//	go run ./drivers/cccd/simcard/gen testdata/cards
package main

import (
	"fmt"
	"os"

	"motcua-agent/drivers/cccd/simcard"
)

func main() {
	dir := "testdata/cards"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := simcard.Generate(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
