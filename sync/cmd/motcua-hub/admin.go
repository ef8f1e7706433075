package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"motcua-agent/sync/hub"
)

// openHub opens the database the settings name, for the one-shot commands.
func openHub(s settings) (*hub.Hub, error) {
	db, err := s.database()
	if err != nil {
		return nil, err
	}
	return hub.Open(db, hub.Options{KeyFile: s.KeyFile})
}

func cmdEnroll(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("enroll", stderr)
	site := f.fs.String("site", "", "site code (the agent's site.id)")
	device := f.fs.String("device", "", "device id (the agent's site.device_id)")
	province := f.fs.String("province", "", "province name, for the reports")
	commune := f.fs.String("commune", "", "commune or ward name, for the reports")
	name := f.fs.String("name", "", "site name, for the reports")
	hubURL := f.fs.String("url", "", "the hub's URL as agents reach it, printed in the config lines")
	upstream := f.fs.Bool("upstream", false, "at the national hub: the device is a provincial hub (site = the province), whose rows name its sites and communes")
	s, err := f.parse(args)
	if err != nil {
		return fail(stderr, "enroll", err, 2)
	}
	if *site == "" || *device == "" {
		return fail(stderr, "enroll", errors.New("--site and --device are required"), 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "enroll", err, 1)
	}
	defer h.Close()
	enroll := h.Enroll
	if *upstream {
		enroll = h.EnrollUpstream
	}
	secret, err := enroll(ctx, hub.Site{Code: *site, Name: *name, Province: *province, Commune: *commune}, *device)
	if err != nil {
		if errors.Is(err, hub.ErrAlreadyEnrolled) {
			return fail(stderr, "enroll", err, 3)
		}
		return fail(stderr, "enroll", err, 1)
	}
	u := *hubURL
	if u == "" {
		u = "https://HUB-ADDRESS:8607"
	}
	fmt.Fprintf(stderr, "Enrolled device %s at site %s. Put these lines in that agent's config (keep the secret private):\n\n", *device, *site)
	fmt.Fprintf(stdout, "site:\n  id: %q\n  device_id: %q\nsync:\n  url: %q\n  secret: %q\n", *site, *device, u, secret)
	return 0
}

func cmdRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("revoke", stderr)
	device := f.fs.String("device", "", "device id to revoke")
	s, err := f.parse(args)
	if err != nil {
		return fail(stderr, "revoke", err, 2)
	}
	if *device == "" {
		return fail(stderr, "revoke", errors.New("--device is required"), 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "revoke", err, 1)
	}
	defer h.Close()
	if err := h.Revoke(ctx, *device); err != nil {
		return fail(stderr, "revoke", err, 1)
	}
	fmt.Fprintf(stdout, "Device %s revoked: its pushes are refused from now on; its counters stay in the totals.\n", *device)
	return 0
}

// cmdSite is "site set": it changes a site's names after enrollment.
func cmdSite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "set" {
		fmt.Fprintln(stderr, "usage: motcua-hub site set [--db DB] --site SITE [--name N] [--province P] [--commune C]")
		return 2
	}
	f := newFlags("site set", stderr)
	site := f.fs.String("site", "", "site code (the agent's site.id)")
	name := f.fs.String("name", "", "site name, for the reports")
	province := f.fs.String("province", "", "province name, for the reports")
	commune := f.fs.String("commune", "", "commune or ward name, for the reports")
	s, err := f.parse(args[1:])
	if err != nil {
		return fail(stderr, "site set", err, 2)
	}
	var change hub.SiteChange
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			change.Name = name
		case "province":
			change.Province = province
		case "commune":
			change.Commune = commune
		}
	})
	if *site == "" || (change.Name == nil && change.Province == nil && change.Commune == nil) {
		return fail(stderr, "site set", errors.New("--site and at least one of --name, --province, --commune are required"), 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "site set", err, 1)
	}
	defer h.Close()
	before, after, err := h.SetSite(ctx, *site, change)
	if err != nil {
		return fail(stderr, "site set", err, 1)
	}
	changed := false
	for _, c := range []struct{ what, was, now string }{
		{"name", before.Name, after.Name}, {"province", before.Province, after.Province}, {"commune", before.Commune, after.Commune}} {
		if c.was != c.now {
			fmt.Fprintf(stdout, "Site %s: %s %q -> %q\n", *site, c.what, c.was, c.now)
			changed = true
		}
	}
	if !changed {
		fmt.Fprintf(stdout, "Site %s: nothing changed (name %q, province %q, commune %q).\n", *site, after.Name, after.Province, after.Commune)
	}
	return 0
}

// cmdDevices lists the enrolled devices, the ones never heard from included.
func cmdDevices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlags("devices", stderr)
	asJSON := f.fs.Bool("json", false, "JSON output")
	s, err := f.parse(args)
	if err != nil {
		return fail(stderr, "devices", err, 2)
	}
	h, err := openHub(s)
	if err != nil {
		return fail(stderr, "devices", err, 1)
	}
	defer h.Close()
	fleet, err := h.Fleet(ctx, hub.Filter{})
	if err != nil {
		return fail(stderr, "devices", err, 1)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(fleet)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSITE\tVERSION\tLAST PUSH\tPUSHES\tSTATE")
	for _, a := range fleet {
		last, state := "never", "enrolled"
		if a.LastContact != nil {
			last = a.LastContact.UTC().Format(time.RFC3339)
			state = "active"
		}
		if a.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", a.Device, a.Site, a.Version, last, a.Pushes, state)
	}
	tw.Flush()
	return 0
}
