package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"motcua-agent/sync/hub"
)

// cmdConfig publishes configurations to the agents and lists them with what each
// device runs or refused.
func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "publish" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: motcua-hub config publish --site SITE|--commune C|--all [--version V] FILE | config list [--json]")
		return 2
	}
	if args[0] == "list" {
		return cmdConfigList(ctx, args[1:], stdout, stderr)
	}
	f := newFlags("config publish", stderr)
	var t hub.ConfigTarget
	f.fs.StringVar(&t.Site, "site", "", "publish for one site (its code)")
	f.fs.StringVar(&t.Commune, "commune", "", "publish for every site of a commune (the name the sites were enrolled with)")
	f.fs.BoolVar(&t.All, "all", false, "publish for the whole province")
	version := f.fs.String("version", "", "the version, later than the target's current one (default: the time, YYYYMMDD.hhmmss UTC)")
	rest := args[1:]
	var file string
	if n := len(rest); n > 0 && !strings.HasPrefix(rest[n-1], "-") {
		file, rest = rest[n-1], rest[:n-1]
	}
	s, err := f.parse(rest)
	if err != nil {
		return fail(stderr, "config publish", err, 2)
	}
	if file == "" {
		return fail(stderr, "config publish", errors.New("give the configuration's FILE (YAML: the site file's sections to set) last"), 2)
	}
	layer, err := readBounded(file, 1<<20)
	if err != nil {
		return fail(stderr, "config publish", err, 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "config publish", err, 1)
	}
	defer h.Close()
	p, err := h.PublishConfig(ctx, t, *version, layer)
	if err != nil {
		return fail(stderr, "config publish", err, 2)
	}
	fmt.Fprintf(stdout, "published %s version %s (sections: %s; sha256 %s)\n", p.Target, p.Version, strings.Join(p.Sections, ", "), p.SHA256[:16])
	fmt.Fprintln(stderr, "Each agent it applies to fetches it on its next push, checks it, and reports on the fleet page what it runs or why it refused it.")
	return 0
}

func readBounded(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func cmdConfigList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("config list", stderr)
	asJSON := f.fs.Bool("json", false, "print JSON")
	s, err := f.parse(args)
	if err != nil {
		return fail(stderr, "config list", err, 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "config list", err, 1)
	}
	defer h.Close()
	published, err := h.PublishedConfigs(ctx)
	if err != nil {
		return fail(stderr, "config list", err, 1)
	}
	fleet, err := h.Fleet(ctx, hub.Filter{})
	if err != nil {
		return fail(stderr, "config list", err, 1)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"published": published, "devices": fleet})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tVERSION\tSECTIONS\tPUBLISHED")
	for _, p := range published {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Target, p.Version, strings.Join(p.Sections, ","), p.PublishedAt.Format("2006-01-02 15:04"))
	}
	if len(published) == 0 {
		fmt.Fprintln(tw, "(nothing published)\t\t\t")
	}
	fmt.Fprintln(tw, "\nDEVICE\tSITE\tSHOULD RUN\tRUNS\tSOURCE\tREFUSED")
	for _, a := range fleet {
		c := a.Config
		if c == nil {
			c = &hub.FleetConfig{}
		}
		refused := "-"
		if c.Refused != "" {
			refused = c.Refused + ": " + c.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Device, a.Site, dash(c.Published), dash(c.Version), dash(c.Source), refused)
	}
	tw.Flush()
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
