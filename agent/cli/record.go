package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"motcua-agent/agent/store"
)

var recordCommands = []command{
	{Name: "events", Summary: "list events from the local record",
		Usage: "events [--config FILE] [--data DIR] [--since SEQ] [--limit N] [--json]", Run: cmdEvents},
	{Name: "counters", Summary: "list daily counters from the local record",
		Usage: "counters [--config FILE] [--data DIR] [--day YYYY-MM-DD|all] [--json]", Run: cmdCounters},
}

// openRecord opens the store of a config for reading on the command line (the running
// agent may hold it too: WAL lets both read). It only looks: the record is never
// migrated, moved or written, and no tokens or secrets are created. A damaged record
// is an error (exit 1), never an empty table.
func openRecord(ctx context.Context, cf *configFlags) (*store.Store, func(), int) {
	cfg, err := cf.load()
	if err != nil {
		return nil, nil, printConfigError(err)
	}
	path := filepath.Join(cfg.DataDir, "agent.db")
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "motcua-agent: no record at %s (is --data or the config's data_dir right?)\n", path)
		return nil, nil, 1
	}
	st, err := store.OpenReadOnly(ctx, path, cfg.Location())
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return nil, nil, 1
	}
	return st, func() { st.Close() }, 0
}

func cmdEvents(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	since := fs.Int64("since", 0, "only events after this seq")
	limit := fs.Int("limit", 1000, "at most this many events")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, done, rc := openRecord(ctx, &cf)
	if st == nil {
		return rc
	}
	defer done()
	evs, err := st.Events(ctx, store.EventFilter{AfterSeq: *since, Limit: *limit})
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		for _, e := range evs {
			enc.Encode(e)
		}
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tCOUNTER\tSERVICE\tATTRIBUTES")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.In(st.Location()).Format("02/01/2006 15:04:05"), e.Kind, e.Counter, e.Service, e.Attrs)
	}
	tw.Flush()
	return 0
}

func cmdCounters(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("counters", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	day := fs.String("day", "", "day YYYY-MM-DD (today when empty; 'all' for every day)")
	asJSON := fs.Bool("json", false, "JSON output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, done, rc := openRecord(ctx, &cf)
	if st == nil {
		return rc
	}
	defer done()
	d := *day
	switch d {
	case "":
		d = st.Day(time.Now())
	case "all":
		d = ""
	default:
		if _, err := time.Parse("2006-01-02", d); err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent: --day must be YYYY-MM-DD or all")
			return 2
		}
	}
	rows, err := st.Counters(ctx, d)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	if *asJSON {
		if rows == nil {
			rows = []store.CounterRow{}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rows)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tMETRIC\tDIMENSIONS\tVALUE\tREVISION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.Day, r.Metric, dimsText(r.Dims), r.Value, r.Revision)
	}
	tw.Flush()
	return 0
}

func dimsText(d map[string]string) string {
	parts := make([]string, 0, len(d))
	for k, v := range d {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
