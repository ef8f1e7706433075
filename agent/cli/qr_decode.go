package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
)

func cmdQRDecode(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("qr decode", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per file")
	all := fs.Bool("all", false, "run every image preparation and merge the codes (slower)")
	flags, files := splitFlags(args)
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent qr decode FILE... [--json] [--all]")
		return 2
	}
	cl, _ := qrpayload.NewClassifier("")
	rc := 0
	for _, f := range files {
		codes, err := qrimage.DecodeFile(f, qrimage.Options{Exhaustive: *all})
		type codeView struct {
			Text    string `json:"text"`
			Kind    string `json:"kind"`
			Attempt string `json:"attempt"`
		}
		out := struct {
			File  string     `json:"file"`
			Codes []codeView `json:"codes"`
			Error string     `json:"error,omitempty"`
		}{File: f, Codes: []codeView{}}
		if err != nil {
			out.Error = err.Error()
			rc = 1
		}
		for _, c := range codes {
			out.Codes = append(out.Codes, codeView{Text: c.Text, Kind: string(cl.ClassifyText(c.Text).Kind), Attempt: c.Attempt})
		}
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetEscapeHTML(false)
			enc.Encode(out)
			continue
		}
		if err != nil {
			fmt.Printf("%s: %v\n", f, err)
			continue
		}
		for _, c := range out.Codes {
			fmt.Printf("%s: [%s] %s\n", f, c.Kind, c.Text)
		}
	}
	return rc
}
