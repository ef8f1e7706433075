package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"motcua-agent/agent/app"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/sync/upload"
)

var syncCommands = []command{
	{Name: "sync", Summary: "show the upload state, or push the counters now",
		Usage: "sync status [--config FILE] [--data DIR] [--json]\n       sync now [--config FILE] [--data DIR]",
		Run:   cmdSync},
}

func cmdSync(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "status" && args[0] != "now") {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent sync status|now [--config FILE] [--data DIR]")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("sync "+sub, flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "JSON output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		return printConfigError(err)
	}
	if !cfg.Sync.Enabled() {
		fmt.Println("Sync is not configured: set sync.url and sync.secret (from `motcua-hub enroll` at the hub).")
		return 1
	}
	var st upload.Status
	rc := 0
	if sub == "now" {
		st, err = syncNowViaAgent(ctx, cfg)
		if err != nil {
			// No agent running (or it did not answer): push from here, over the same store.
			a, oerr := app.Open(ctx, cfg)
			if oerr != nil {
				fmt.Fprintln(os.Stderr, "motcua-agent sync now:", oerr)
				return 1
			}
			defer a.Close()
			c, cerr := app.NewSyncClient(cfg, app.StoreSource{Store: a.Store}, nil)
			if cerr != nil {
				fmt.Fprintln(os.Stderr, "motcua-agent sync now:", cerr)
				return 1
			}
			c.PushNow(ctx)
			st = c.Status()
			st.Backlog, _ = upload.CountPending(ctx, app.StoreSource{Store: a.Store}, st.Watermark)
		}
		if st.LastError != "" {
			rc = 1
		}
	} else {
		rec, err := store.OpenReadOnly(ctx, filepath.Join(cfg.DataDir, "agent.db"), cfg.Location())
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent sync status:", err)
			return 1
		}
		defer rec.Close()
		st, err = upload.ReadStatus(ctx, app.StoreSource{Store: rec})
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent sync status:", err)
			return 1
		}
		st.Hub, st.Device = cfg.Sync.URL, cfg.Site.DeviceID
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return rc
	}
	printSyncStatus(os.Stdout, st, cfg.Location())
	return rc
}

// syncNowViaAgent asks the running agent to push (it owns the client and its state),
// over its local API with the admin token.
func syncNowViaAgent(ctx context.Context, cfg *config.Config) (upload.Status, error) {
	var st upload.Status
	tokens, err := app.LoadTokens(cfg)
	if err != nil {
		return st, err
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return st, err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort(host, port)+"/api/v1/sync/now", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+tokens[web.RoleAdmin])
	resp, err := (&http.Client{Timeout: 3 * time.Minute}).Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadGateway {
		return st, fmt.Errorf("agent answered %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("agent answer: %w", err)
	}
	return st, nil
}

// printSyncStatus prints the upload state with times in the site's time zone (what
// tickets and pages show), whatever the PC's own zone is.
func printSyncStatus(w io.Writer, st upload.Status, loc *time.Location) {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return fmt.Sprintf("%s (%s ago)", t.In(loc).Format("02/01/2006 15:04:05"), time.Since(t).Round(time.Second))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Hub:\t%s\n", st.Hub)
	fmt.Fprintf(tw, "Device:\t%s\n", st.Device)
	fmt.Fprintf(tw, "Backlog:\t%d counter rows not yet acknowledged by the hub\n", st.Backlog)
	fmt.Fprintf(tw, "Last success:\t%s\n", when(st.LastSuccess))
	fmt.Fprintf(tw, "Last attempt:\t%s\n", when(st.LastAttempt))
	if off := time.Duration(st.ClockOffsetMS) * time.Millisecond; off >= time.Second || off <= -time.Second {
		fmt.Fprintf(tw, "Clock:\tthe hub's clock is %s ahead of this PC's\n", (time.Duration(st.ClockOffsetMS) * time.Millisecond).Round(time.Second))
	}
	if st.Unsendable > 0 {
		fmt.Fprintf(tw, "Left out:\t%d counter rows no hub accepts; the last: %s (report this bug)\n", st.Unsendable, st.LastUnsendable)
	}
	if st.Rewound != "" {
		fmt.Fprintf(tw, "Rewound:\t%s\n", st.Rewound)
	}
	if st.LastError != "" {
		fmt.Fprintf(tw, "Last error:\t%s\n", st.LastError)
		fmt.Fprintf(tw, "\t(%d failed attempts in a row, at %s)\n", st.Failures, when(st.LastErrorAt))
	} else if st.LastAttempt.IsZero() {
		fmt.Fprintf(tw, "State:\tnothing sent yet (the agent pushes when it runs, or use `sync now`)\n")
	} else {
		fmt.Fprintf(tw, "State:\tOK\n")
	}
	tw.Flush()
}
