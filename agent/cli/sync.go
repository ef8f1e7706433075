package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	"motcua-agent/sync/hub"
	"motcua-agent/sync/upload"
)

var syncCommands = []command{
	{Name: "hub", Summary: "run the provincial hub, or enroll / revoke an agent",
		Usage: "hub --listen ADDR --db FILE [--tls-cert F --tls-key F] [--catalogue CSV]\n" +
			"       hub enroll --db FILE --site SITE --device DEVICE [--province P] [--commune C] [--name N] [--url HUB_URL]\n" +
			"       hub revoke --db FILE --device DEVICE",
		Run: cmdHub},
	{Name: "sync", Summary: "show the upload state, or push the counters now",
		Usage: "sync status [--config FILE] [--data DIR] [--json]\n       sync now [--config FILE] [--data DIR]",
		Run:   cmdSync},
}

func cmdHub(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "enroll":
			return cmdHubEnroll(ctx, args[1:])
		case "revoke":
			return cmdHubRevoke(ctx, args[1:])
		}
	}
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8607", "address to listen on")
	db := fs.String("db", "hub.db", "hub database (SQLite)")
	cert := fs.String("tls-cert", "", "TLS certificate (PEM); plain HTTP without it")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	catalogue := fs.String("catalogue", "", "CSV of essential services (no,code,name,level); the 25 of the monthly report by default")
	reportToken := fs.String("report-token", os.Getenv("MOTCUA_HUB_REPORT_TOKEN"), "token required to read the page, reports and fleet (default $MOTCUA_HUB_REPORT_TOKEN; none: open to whoever reaches the port)")
	openFleet := fs.Bool("open-fleet", false, "show the fleet (device names, versions, states) without a report token")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(os.Stderr, "motcua-agent hub: give both --tls-cert and --tls-key, or neither")
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := hub.Options{Log: log, ReportToken: *reportToken, OpenFleet: *openFleet}
	if *catalogue != "" {
		f, err := os.Open(*catalogue)
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
			return 2
		}
		opts.Catalogue, err = hub.LoadCatalogue(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent hub: catalogue:", err)
			return 2
		}
	}
	h, err := hub.Open(*db, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
		return 1
	}
	defer h.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
		return 1
	}
	srv := h.Server()
	gl := hub.Listen(ln, srv, hub.DefaultConnLimits)
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	log.Info("hub listening", "url", scheme+"://"+ln.Addr().String(), "db", *db, "reports_need_token", *reportToken != "")
	errc := make(chan error, 1)
	go func() {
		if *cert != "" {
			errc <- srv.ServeTLS(gl, *cert, *key)
		} else {
			errc <- srv.Serve(gl)
		}
	}()
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	log.Info("hub stopped")
	return 0
}

func cmdHubEnroll(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("hub enroll", flag.ContinueOnError)
	db := fs.String("db", "hub.db", "hub database (SQLite)")
	site := fs.String("site", "", "site code (the agent's site.id)")
	device := fs.String("device", "", "device id (the agent's site.device_id)")
	province := fs.String("province", "", "province name, for the reports")
	commune := fs.String("commune", "", "commune or ward name, for the reports")
	name := fs.String("name", "", "site name, for the reports")
	hubURL := fs.String("url", "", "the hub's URL as agents reach it, printed in the config lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *site == "" || *device == "" {
		fmt.Fprintln(os.Stderr, "motcua-agent hub enroll: --site and --device are required")
		return 2
	}
	h, err := hub.Open(*db, hub.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub enroll:", err)
		return 1
	}
	defer h.Close()
	secret, err := h.Enroll(ctx, hub.Site{Code: *site, Name: *name, Province: *province, Commune: *commune}, *device)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub enroll:", err)
		if errors.Is(err, hub.ErrAlreadyEnrolled) {
			return 3
		}
		return 1
	}
	u := *hubURL
	if u == "" {
		u = "https://HUB-ADDRESS:8607"
	}
	fmt.Fprintf(os.Stderr, "Enrolled device %s at site %s. Put these lines in that agent's config (keep the secret private):\n\n", *device, *site)
	fmt.Print(enrollYAML(*site, *device, u, secret))
	return 0
}

// enrollYAML is the config fragment for an enrolled agent.
func enrollYAML(site, device, hubURL, secret string) string {
	return fmt.Sprintf("site:\n  id: %q\n  device_id: %q\nsync:\n  url: %q\n  secret: %q\n", site, device, hubURL, secret)
}

func cmdHubRevoke(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("hub revoke", flag.ContinueOnError)
	db := fs.String("db", "hub.db", "hub database (SQLite)")
	device := fs.String("device", "", "device id to revoke")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *device == "" {
		fmt.Fprintln(os.Stderr, "motcua-agent hub revoke: --device is required")
		return 2
	}
	h, err := hub.Open(*db, hub.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub revoke:", err)
		return 1
	}
	defer h.Close()
	if err := h.Revoke(ctx, *device); err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub revoke:", err)
		return 1
	}
	fmt.Printf("Device %s revoked: its pushes are refused from now on; its counters stay in the totals.\n", *device)
	return 0
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
		fmt.Println("Sync is not configured: set sync.url and sync.secret (from `motcua-agent hub enroll`).")
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
