package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"

	"motcua-agent/agent/app"
	"motcua-agent/agent/update"
	"motcua-agent/config"
	"motcua-agent/internal/winservice"
)

const serviceName = "motcua-agent"

// systemdDropIn overrides the library's unit, which waits 120 s before a restart: a
// counter PC whose agent crashed is back within seconds, and keeps trying.
const systemdDropIn = `# Written by motcua-agent service install.
[Unit]
After=network.target pcscd.service
Wants=pcscd.service
StartLimitIntervalSec=60
StartLimitBurst=10

[Service]
Restart=always
RestartSec=3
TimeoutStopSec=15
`

// writeSystemdDropIn writes the override under root ("/" on a real system).
func writeSystemdDropIn(root string) (string, error) {
	dir := filepath.Join(root, "etc", "systemd", "system", serviceName+".service.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "10-restart.conf")
	return path, os.WriteFile(path, []byte(systemdDropIn), 0o644)
}

// serviceConfig describes the installed service. The config path is made absolute so
// the service never depends on the directory it was installed from.
func serviceConfig(cfgPath string) (*service.Config, error) {
	args := []string{"service", "run"}
	if cfgPath != "" {
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", abs)
	}
	return &service.Config{
		Name:        serviceName,
		DisplayName: "motcua-agent (Một cửa)",
		Description: "motcua-agent: card reader, QR scanners, queue, gates and counters for a public-service counter",
		Arguments:   args,
		Option: service.KeyValue{
			"Restart":                "always",
			"OnFailure":              "restart", // Windows: restart on failure
			"OnFailureDelayDuration": "3s",
			"OnFailureResetPeriod":   60,
			"DelayedAutoStart":       false,
			"StartType":              "automatic",
		},
	}, nil
}

// bootTrial is the service's own start count on Windows, where no ExecStartPre runs
// `update boot`: while a version is on trial each start is counted, and a trial that
// crash-loops (or was never healthy) is rolled back, its previous version switched back
// in through the service manager; the caller then exits non-zero so the recovery
// actions start that version. Without a trial nothing is done. stop: exit with code.
func bootTrial(u *update.Updater, version string) (code int, stop bool) {
	st, err := u.Status()
	if err != nil || st.Trial == nil {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	exe, err := u.Boot(self, version)
	if errors.Is(err, update.ErrRolledBack) {
		fmt.Fprintf(os.Stderr, "motcua-agent: %v; the service restarts into %s\n", err, exe)
		return 1, true
	}
	if err != nil {
		// Never block the start: the version the service started still runs.
		fmt.Fprintln(os.Stderr, "motcua-agent: update boot:", err)
	}
	return 0, false
}

// program is what the service library controls for install, start, stop, status and
// uninstall; running is `service run`, which does not go through it.
type program struct{}

func (program) Start(service.Service) error { return nil }
func (program) Stop(service.Service) error  { return nil }

var serviceCommands = []command{
	{Name: "service", Summary: "install, start, stop, uninstall or query the system service",
		Usage: "service install --config FILE | start | stop | restart | status | uninstall | run --config FILE",
		Run:   cmdService},
}

func cmdService(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent service install --config FILE | start | stop | restart | status | uninstall")
		return 2
	}
	verb := args[0]
	switch verb {
	case "install", "uninstall", "start", "stop", "restart", "status", "run":
	default:
		fmt.Fprintf(os.Stderr, "motcua-agent: unknown service command %q (install, start, stop, restart, status, uninstall, run)\n", verb)
		return 2
	}
	fs := flag.NewFlagSet("service "+verb, flag.ContinueOnError)
	cfgPath := fs.String("config", "", "site config file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if (verb == "install" || verb == "run") && *cfgPath == "" {
		fmt.Fprintln(os.Stderr, "motcua-agent: service "+verb+" needs --config FILE (the site's config)")
		return 2
	}
	if *cfgPath != "" {
		if _, err := config.Load(*cfgPath, config.Overrides{}); err != nil {
			return printConfigError(err)
		}
	}
	sc, err := serviceConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	svc, err := service.New(program{}, sc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent: service:", err)
		return 1
	}
	switch verb {
	case "run":
		// Under the Windows service manager the agent answers it directly (the usual
		// "am I a service?" check fails under wine); under systemd or on a console it
		// simply runs until SIGTERM/Ctrl-C, and a failure to start, or a stop on an
		// error, exits non-zero at once so Restart= and the recovery actions fire.
		run := func(ctx context.Context) int { return runAgent(ctx, *cfgPath, config.Overrides{}) }
		if runtime.GOOS == "windows" {
			// No ExecStartPre there: the start of a version on trial is counted here.
			if cfg, err := config.Load(*cfgPath, config.Overrides{}); err == nil {
				if code, stop := bootTrial(update.ForData(cfg.DataDir), app.Version); stop {
					return code
				}
			}
		}
		if code, asService := winservice.Run(serviceName, run); asService {
			return code
		}
		return run(ctx)
	case "status":
		st, err := svc.Status()
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent: service status:", err)
			return 1
		}
		fmt.Println(map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}[st])
		if st == service.StatusUnknown {
			fmt.Println("unknown (not installed?)")
		}
		return 0
	case "install", "uninstall", "start", "stop", "restart":
		if err := service.Control(svc, verb); err != nil {
			fmt.Fprintf(os.Stderr, "motcua-agent: service %s: %v\n", verb, err)
			if runtime.GOOS != "windows" && os.Geteuid() != 0 {
				fmt.Fprintln(os.Stderr, "  (run it as root: sudo motcua-agent service "+verb+" …)")
			}
			return 1
		}
		if verb == "install" && service.Platform() == "linux-systemd" {
			path, err := writeSystemdDropIn("/")
			if err != nil {
				fmt.Fprintln(os.Stderr, "motcua-agent: service install: restart override:", err)
				return 1
			}
			if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "motcua-agent: systemctl daemon-reload: %v: %s\n", err, out)
				return 1
			}
			fmt.Println("restart override:", path)
		}
		fmt.Printf("service %s: done (%s, platform %s)\n", verb, serviceName, service.Platform())
		return 0
	}
	fmt.Fprintf(os.Stderr, "motcua-agent: unknown service command %q\n", verb)
	return 2
}
