package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
)

func cmdQRDecode(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("qr decode", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per file")
	all := fs.Bool("all", false, "run every image preparation and merge the codes (slower)")
	flags, args := splitFlags(args)
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent qr decode FILE|FOLDER... [--json] [--all]")
		return 2
	}
	files := qrFiles(args)
	// Files are decoded on every core at once, and printed in the order given: a
	// folder of scanned pages is decoded in one process, not one page after another.
	results := make([]chan qrResult, len(files))
	for i := range results {
		results[i] = make(chan qrResult, 1)
	}
	go func() {
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(runtime.GOMAXPROCS(0), len(files)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					codes, err := qrimage.DecodeFile(files[i], qrimage.Options{Exhaustive: *all})
					results[i] <- qrResult{codes, err}
				}
			}()
		}
		for i := range files {
			next <- i
		}
		close(next)
		wg.Wait()
	}()
	cl, _ := qrpayload.NewClassifier("")
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	rc := 0
	for i, f := range files {
		r := <-results[i]
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
		if r.err != nil {
			out.Error = r.err.Error()
			rc = 1
		}
		for _, c := range r.codes {
			out.Codes = append(out.Codes, codeView{Text: c.Text, Kind: string(cl.ClassifyText(c.Text).Kind), Attempt: c.Attempt})
		}
		if *asJSON {
			enc.Encode(out)
			continue
		}
		if r.err != nil {
			fmt.Printf("%s: %v\n", f, r.err)
			continue
		}
		for _, c := range out.Codes {
			fmt.Printf("%s: [%s] %s\n", f, c.Kind, c.Text)
		}
	}
	return rc
}

type qrResult struct {
	codes []qrimage.Code
	err   error
}

// qrFiles expands each folder among args into its image files, in name order (not
// its subfolders); files are kept as given.
func qrFiles(args []string) []string {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			files = append(files, a) // a missing file is reported by its decode
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			files = append(files, a)
			continue
		}
		var names []string
		for _, e := range ents {
			if e.Type().IsRegular() && qrimage.IsImageFile(e.Name()) {
				names = append(names, filepath.Join(a, e.Name()))
			}
		}
		sort.Strings(names)
		files = append(files, names...)
	}
	return files
}
