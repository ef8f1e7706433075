package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"

	"motcua-agent/agent/app"
	"motcua-agent/agent/web"
	"motcua-agent/config"
)

// configFlags are the flags every command that reads a site shares.
type configFlags struct {
	path, data, listen string
	hub, hubSecretFile string
}

func (c *configFlags) register(fs *flag.FlagSet, withListen bool) {
	fs.StringVar(&c.path, "config", "", "site config file (YAML); the embedded demo config when empty")
	fs.StringVar(&c.data, "data", "", "data folder (overrides data_dir in the config)")
	if withListen {
		fs.StringVar(&c.listen, "listen", "", "HTTP listen address (overrides http.listen)")
		fs.StringVar(&c.hub, "hub", "", "the hub to push counters to (overrides sync.url; needs --hub-secret-file)")
		fs.StringVar(&c.hubSecretFile, "hub-secret-file", "", "file holding this device's secret from `motcua-hub enroll` (overrides sync.secret)")
	}
}

func (c *configFlags) overrides() config.Overrides {
	return config.Overrides{DataDir: c.data, Listen: c.listen, SyncURL: c.hub, SyncSecretFile: c.hubSecretFile}
}

// load reads the config, or the embedded demo (data in ./demo-data) without --config,
// with the hub's configuration over it when this PC applied one (as the agent runs it).
func (c *configFlags) load() (*config.Config, error) {
	ov := c.overrides()
	var cfg *config.Config
	var err error
	if c.path == "" {
		wd, werr := os.Getwd()
		if werr != nil {
			return nil, werr
		}
		cfg, err = config.Demo(wd, ov)
	} else {
		cfg, err = config.Load(c.path, ov)
	}
	if err != nil {
		return nil, err
	}
	layer, err := app.OpenHubLayer(cfg.DataDir, c.path)
	if err != nil {
		return nil, err
	}
	cfg, _, err = layer.Load(ov, slog.New(slog.DiscardHandler))
	return cfg, err
}

func printConfigError(err error) int {
	var p *config.Problems
	if errors.As(err, &p) {
		fmt.Fprintln(os.Stderr, "config has problems:")
		for _, q := range p.List {
			fmt.Fprintf(os.Stderr, "  %s: %s\n", q.Path, q.Msg)
		}
		return 2
	}
	fmt.Fprintln(os.Stderr, "motcua-agent:", err)
	return 2
}

var runCommands = []command{
	{Name: "run", Summary: "run the agent in the foreground",
		Usage: "run [--config FILE] [--data DIR] [--listen ADDR]", Run: cmdRun},
	{Name: "config", Summary: "check a config file, or print an example",
		Usage: "config check [FILE] | config example [counter|clinic|gate|demo] | config use-hub [--config FILE]", Run: cmdConfig},
}

func cmdRun(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, err := cf.load(); err != nil {
		return printConfigError(err)
	}
	return runAgent(ctx, cf.path, cf.overrides())
}

// runAgent is `run` and the service's body: the site file with the hub's
// configuration over it, applied as the hub publishes it (app.RunSteered).
func runAgent(ctx context.Context, path string, ov config.Overrides) int {
	so := app.SteerOptions{Path: path, Overrides: ov}
	bannerShown := false
	so.Ready = func(a *app.App) {
		if a.Config.Profile == config.ProfileDemo && !bannerShown {
			bannerShown = true
			fmt.Fprint(os.Stderr, demoBanner(a.Config, a.Web.Pages(), a.Tokens))
		}
	}
	if err := app.RunSteered(ctx, so); err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent: stopped:", err)
		return 1
	}
	return 0
}

// demoBanner is what the demo prints once it serves: every page with its token (the
// demo's tokens are public), the data folder and the hub it pushes to.
func demoBanner(cfg *config.Config, pages []web.Page, tokens map[web.Role]string) string {
	var b strings.Builder
	b.WriteString("\n  motcua-agent (demo) is running. Its pages, each with its token:\n\n")
	// The order people meet them: the dashboard, the kiosk, the counters, the boards.
	rank := map[web.Role]int{web.RoleAdmin: 0, web.RoleKiosk: 1, web.RoleCounter: 2, web.RoleDisplay: 3, web.RoleRating: 4}
	sort.SliceStable(pages, func(i, j int) bool { return rank[pages[i].Role] < rank[pages[j].Role] })
	for _, p := range pages {
		sep := "?"
		if strings.Contains(p.Path, "?") {
			sep = "&"
		}
		fmt.Fprintf(&b, "    %-40s %s%s%stoken=%s\n", p.Title, cfg.HTTP.PublicURL, p.Path, sep, tokens[p.Role])
	}
	fmt.Fprintf(&b, "\n  Data: %s\n", cfg.DataDir)
	if cfg.Sync.Enabled() {
		fmt.Fprintf(&b, "  Counters go to the hub at %s.\n", cfg.Sync.URL)
	}
	b.WriteString("  Stop with Ctrl-C.\n\n")
	return b.String()
}

func cmdConfig(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent config check [FILE] | config example [PROFILE] | config use-hub [--config FILE]")
		return 2
	}
	switch args[0] {
	case "check":
		var cf configFlags
		if len(args) > 1 {
			cf.path = args[1]
		}
		cfg, err := cf.load()
		if err != nil {
			return printConfigError(err)
		}
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(os.Stderr, "# warning: %s: %s\n", w.Path, w.Msg)
		}
		via := ""
		if v := cfg.HubVersion(); v != "" {
			via = ", with the hub's configuration " + v + " over it"
		}
		fmt.Printf("# effective config (%s%s): OK\n", nameOr(cf.path, "embedded demo"), via)
		os.Stdout.Write(cfg.Redacted().YAML())
		return 0
	case "use-hub":
		return cmdConfigUseHub(args[1:])
	case "example":
		fs := flag.NewFlagSet("config example", flag.ContinueOnError)
		goos := fs.String("os", runtime.GOOS, "linux or windows: that system's paths, ports and printer transport")
		p, rest := config.ProfileCounter, args[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			p, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		b, err := config.ExampleFor(p, *goos)
		if err != nil {
			fmt.Fprintf(os.Stderr, "no example for profile %q (counter, clinic, hospital, gate, demo)\n", p)
			return 2
		}
		os.Stdout.Write(b)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown config subcommand %q\n", args[0])
	return 2
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cmdConfigUseHub hands an edited site file back to the hub: the hub's configuration
// applies over it again, from the agent's next push.
func cmdConfigUseHub(args []string) int {
	fs := flag.NewFlagSet("config use-hub", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "config use-hub: unexpected %q (give the site file with --config)\n", fs.Arg(0))
		return 2
	}
	ov := cf.overrides()
	var cfg *config.Config
	var err error
	if cf.path == "" {
		wd, _ := os.Getwd()
		cfg, err = config.Demo(wd, ov)
	} else {
		cfg, err = config.Load(cf.path, ov)
	}
	if err != nil {
		return printConfigError(err)
	}
	layer, err := app.OpenHubLayer(cfg.DataDir, cf.path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	wasEdited := layer.LocallyEdited()
	v, err := layer.UseHub()
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent: config use-hub:", err)
		return 1
	}
	switch {
	case !wasEdited:
		fmt.Println("The hub's configuration already applies here; nothing to hand back.")
	default:
		fmt.Printf("The site file as it is now is the base the hub's configuration applies over; the running agent takes the hub's configuration (%s) again with its next push.\n", nameOr(v, "none applied yet"))
	}
	return 0
}
