package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"motcua-agent/sync/hub"
	"net"
	"os"
	"time"
)

func cmdHub(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "enroll":
			return cmdHubEnroll(ctx, args[1:])
		case "revoke":
			return cmdHubRevoke(ctx, args[1:])
		case "site":
			return cmdHubSite(ctx, args[1:], os.Stdout, os.Stderr)
		}
	}
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8607", "address to listen on")
	dbf := dbFlags(fs)
	cert := fs.String("tls-cert", "", "TLS certificate (PEM); plain HTTP without it")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	catalogue := fs.String("catalogue", "", "CSV of essential services (no,code,name,level); the 25 of the monthly report by default")
	reportToken := fs.String("report-token", os.Getenv("MOTCUA_HUB_REPORT_TOKEN"), "token required to read the page, reports and fleet (default $MOTCUA_HUB_REPORT_TOKEN; none: open to whoever reaches the port)")
	openFleet := fs.Bool("open-fleet", false, "show the fleet (device names, versions, states) without a report token")
	staleAfter := fs.Duration("stale-after", hub.DefaultStaleAfter, "how long a site may send nothing before the page flags it")
	upstream := fs.String("upstream", "", "push this hub's totals to a national hub; `FILE` holds the lines \"hub enroll\" printed there (site.id, site.device_id, sync.url, sync.secret)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(os.Stderr, "motcua-agent hub: give both --tls-cert and --tls-key, or neither")
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := hub.Options{Log: log, ReportToken: *reportToken, OpenFleet: *openFleet, KeyFile: *dbf.keyFile}
	opts.StaleAfter = *staleAfter
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
	h, err := hub.Open(dbf.database(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
		return 1
	}
	defer h.Close()
	if *upstream != "" {
		up, err := h.StartUpstreamFrom(*upstream)
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent hub:", err)
			return 2
		}
		defer up.Close()
	}
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
	log.Info("hub listening", "url", scheme+"://"+ln.Addr().String(), "db", hub.Redact(dbf.database()), "reports_need_token", *reportToken != "")
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

// hubDBFlags are the database flags of hub, hub enroll and hub revoke.
type hubDBFlags struct {
	fs      *flag.FlagSet
	db      *string
	keyFile *string
}

func dbFlags(fs *flag.FlagSet) hubDBFlags {
	return hubDBFlags{fs: fs,
		db: fs.String("db", "hub.db",
			"hub database: a SQLite file, or postgres://user:password@host/dbname for PostgreSQL, which several hubs may share; $MOTCUA_HUB_DB when the flag is not given (keeps a password out of ps)"),
		keyFile: fs.String("key-file", "",
			"key that seals the device secrets (default DB.key beside a SQLite file; required with PostgreSQL: the same file on every hub)"),
	}
}

// database is --db, or $MOTCUA_HUB_DB when the flag was not given (never shown as the
// flag's default, which --help prints).
func (f hubDBFlags) database() string {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "db" })
	if v := os.Getenv("MOTCUA_HUB_DB"); !given && v != "" {
		return v
	}
	return *f.db
}

func cmdHubEnroll(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("hub enroll", flag.ContinueOnError)
	dbf := dbFlags(fs)
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
	h, err := hub.Open(dbf.database(), hub.Options{KeyFile: *dbf.keyFile})
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
	dbf := dbFlags(fs)
	device := fs.String("device", "", "device id to revoke")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *device == "" {
		fmt.Fprintln(os.Stderr, "motcua-agent hub revoke: --device is required")
		return 2
	}
	h, err := hub.Open(dbf.database(), hub.Options{KeyFile: *dbf.keyFile})
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

// cmdHubSite is "hub site set": it changes a site's names after enrollment.
func cmdHubSite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "set" {
		fmt.Fprintln(stderr, "usage: motcua-agent hub site set --db FILE --site SITE [--name N] [--province P] [--commune C]")
		return 2
	}
	fs := flag.NewFlagSet("hub site set", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "hub.db", "hub database (SQLite)")
	site := fs.String("site", "", "site code (the agent's site.id)")
	name := fs.String("name", "", "site name, for the reports")
	province := fs.String("province", "", "province name, for the reports")
	commune := fs.String("commune", "", "commune or ward name, for the reports")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var change hub.SiteChange
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			change.Name = name
		case "province":
			change.Province = province
		case "commune":
			change.Commune = commune
		}
	})
	if *site == "" || (change.Name == nil && change.Province == nil && change.Commune == nil) {
		fmt.Fprintln(stderr, "motcua-agent hub site set: --site and at least one of --name, --province, --commune are required")
		return 2
	}
	h, err := hub.Open(*db, hub.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "motcua-agent hub site set:", err)
		return 1
	}
	defer h.Close()
	before, after, err := h.SetSite(ctx, *site, change)
	if err != nil {
		fmt.Fprintln(stderr, "motcua-agent hub site set:", err)
		return 1
	}
	changed := false
	for _, f := range []struct{ what, was, now string }{
		{"name", before.Name, after.Name}, {"province", before.Province, after.Province}, {"commune", before.Commune, after.Commune}} {
		if f.was != f.now {
			fmt.Fprintf(stdout, "Site %s: %s %q -> %q\n", *site, f.what, f.was, f.now)
			changed = true
		}
	}
	if !changed {
		fmt.Fprintf(stdout, "Site %s: nothing changed (name %q, province %q, commune %q).\n", *site, after.Name, after.Province, after.Commune)
	}
	return 0
}
