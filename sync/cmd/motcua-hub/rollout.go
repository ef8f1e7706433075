package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"motcua-agent/sync/hub"
	"motcua-agent/sync/wire"
)

// cmdRollout is the province's staged rollouts of a signed release (sync/hub,
// rollout.go): start, advance, halt, resume, status. The running hub reads them from
// the database at each push, so every hub of a database follows at once.
func cmdRollout(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := []string{"start", "advance", "halt", "resume", "status"}
	if len(args) == 0 || !slices.Contains(verbs, args[0]) {
		fmt.Fprintln(stderr, "usage: motcua-hub rollout start|advance|halt|resume|status [flags]; 'motcua-hub help rollout'")
		return 2
	}
	verb := args[0]
	name := "rollout " + verb
	f := newFlags(name, stderr)
	var (
		version, sites, canary, reason string
		percent, haltAt                float64
		minSample                      int
		asJSON                         bool
	)
	switch verb {
	case "start":
		f.fs.StringVar(&version, "release", "", "the version to roll out, signed in the release folder")
		f.fs.StringVar(&sites, "sites", "", "only the devices at these sites (comma-separated codes); all sites when empty")
		f.fs.StringVar(&canary, "canary", "", "sites whose every device takes the release first (comma-separated codes)")
		f.fs.IntVar(&minSample, "min-sample", hub.DefaultMinSample, "finished updates needed before the share of failures may halt the rollout")
		f.fs.StringVar(&f.given.Releases, "releases", "", "the release folder (hub.key and repository/), as serve --releases")
		f.apply["releases"] = func(s *settings) { s.Releases = f.given.Releases }
		fallthrough
	case "advance":
		f.fs.Float64Var(&percent, "percent", -1, "the share of devices (0 … 100) beyond the canary sites; 0 is the canary sites only")
	}
	switch verb {
	case "start", "resume":
		def := hub.DefaultHaltAt
		if verb == "resume" {
			def = 0
		}
		f.fs.Float64Var(&haltAt, "halt-at", def, "halt by itself when this share of the finished updates failed (0.05 is 5 %); resume: 0 keeps it")
	case "halt":
		f.fs.StringVar(&reason, "reason", "", "why, for the fleet page")
	case "status":
		f.fs.BoolVar(&asJSON, "json", false, "JSON output")
	}
	s, err := f.parse(args[1:])
	if err != nil {
		return fail(stderr, name, err, 2)
	}
	if (verb == "start" || verb == "advance") && percent < 0 {
		return fail(stderr, name, errors.New("--percent is required (0 … 100; 0 with --canary for the canary sites only)"), 2)
	}
	if verb == "start" && version == "" {
		return fail(stderr, name, errors.New("--release is required"), 2)
	}
	if verb == "start" && s.Releases == "" {
		return fail(stderr, name, errors.New("the release folder is required: --releases DIR or releases: in the settings (what serve --releases serves)"), 2)
	}
	spec := hub.RolloutSpec{Release: version, Percent: percent, HaltAt: haltAt, MinSample: minSample}
	for _, l := range []struct {
		flag string
		raw  string
		dst  *[]string
	}{{"sites", sites, &spec.Sites}, {"canary", canary, &spec.Canary}} {
		for _, c := range strings.Split(l.raw, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			if !wire.ValidName(c) {
				return fail(stderr, name, fmt.Errorf("--%s: %q is not a site code", l.flag, c), 2)
			}
			*l.dst = append(*l.dst, c)
		}
	}
	db, err := s.database()
	if err != nil {
		return fail(stderr, name, err, 2)
	}
	h, err := hub.Open(db, hub.Options{KeyFile: s.KeyFile, Releases: s.Releases})
	if err != nil {
		return fail(stderr, name, err, 1)
	}
	defer h.Close()
	var r *hub.Rollout
	switch verb {
	case "start":
		r, err = h.StartRollout(ctx, spec)
	case "advance":
		r, err = h.AdvanceRollout(ctx, percent)
	case "halt":
		if reason == "" {
			reason = "halted by the province"
		}
		r, err = h.HaltRollout(ctx, reason)
	case "resume":
		r, err = h.ResumeRollout(ctx, haltAt)
	case "status":
		rs, err := h.Rollouts(ctx, 10)
		if err != nil {
			return fail(stderr, name, err, 1)
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rs)
			return 0
		}
		if len(rs) == 0 {
			fmt.Fprintln(stdout, "No rollout yet.")
		}
		for i := range rs {
			printRollout(stdout, &rs[i])
		}
		return 0
	}
	if err != nil {
		if errors.Is(err, hub.ErrNotPublished) || errors.Is(err, hub.ErrNoRollout) {
			return fail(stderr, name, err, 3)
		}
		return fail(stderr, name, err, 1)
	}
	printRollout(stdout, r)
	return 0
}

func printRollout(w io.Writer, r *hub.Rollout) {
	fmt.Fprintf(w, "Rollout %d of %s: %s, stage %s", r.ID, r.Release, r.State, r.StageName())
	if len(r.Canary) > 0 {
		fmt.Fprintf(w, ", canary sites %s", strings.Join(r.Canary, ","))
	}
	if len(r.Sites) > 0 {
		fmt.Fprintf(w, ", sites %s", strings.Join(r.Sites, ","))
	}
	fmt.Fprintf(w, "; halts above %s%% failed of at least %d finished\n", strconv.FormatFloat(r.HaltAt*100, 'f', -1, 64), r.MinSample)
	if r.Reason != "" {
		fmt.Fprintf(w, "  %s\n", r.Reason)
	}
	for _, st := range r.Stages {
		fmt.Fprintf(w, "  stage %-7s from %s\n", hub.StageNameOf(st.Percent), st.At.UTC().Format(time.RFC3339))
	}
	c := r.Counts
	fmt.Fprintf(w, "  offered %d: waiting %d, on trial %d, committed %d, rolled back %d, refused %d, failed %d\n",
		c.Offered, c.Waiting, c.Trial, c.Committed, c.RolledBack, c.Refused, c.Failed)
}
