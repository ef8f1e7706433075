package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"motcua-agent/agent/app"
	"motcua-agent/agent/update"
	"motcua-agent/config"
)

var updateCommands = []command{
	{Name: "update", Summary: "apply a new agent version on trial (rolled back if it does not prove healthy), or show the versions",
		Usage: "update apply --file BINARY --version V [--data DIR]\n       update status [--data DIR] [--json]\n       update boot [--data DIR]   (before each start of the service: counts a trial's starts, rolls a crash loop back)",
		Run:   cmdUpdate},
}

func cmdUpdate(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "status" && args[0] != "boot") {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent update apply|status|boot [flags]; 'motcua-agent help update'")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("update "+sub, flag.ContinueOnError)
	data := fs.String("data", config.DefaultDataDir(), "the agent's data folder (versions are kept in DATA/versions)")
	file := fs.String("file", "", "apply: the new agent binary (verified by the caller: the technician's copy or a signed release)")
	version := fs.String("version", "", "apply: its version, e.g. 1.4.0")
	asJSON := fs.Bool("json", false, "status: JSON output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	u := update.ForData(*data)
	switch sub {
	case "boot":
		self, err := os.Executable()
		if err == nil {
			var exe string
			exe, err = u.Boot(self, app.Version)
			if err == nil || errors.Is(err, update.ErrRolledBack) {
				fmt.Println(exe)
			}
		}
		if err != nil {
			// Never block the start: whatever `current` points at still runs.
			fmt.Fprintln(os.Stderr, "motcua-agent update boot:", err)
		}
		return 0
	case "apply":
		if *file == "" || *version == "" {
			fmt.Fprintln(os.Stderr, "motcua-agent update apply: give --file BINARY and --version V")
			return 2
		}
		bin, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent update apply:", err)
			return 1
		}
		if err := u.Apply(*version, bin); err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent update apply:", err)
			return 1
		}
		fmt.Printf("%s is switched in on trial; restart the service to start it (motcua-agent service restart). It is kept if it reports healthy within %s, and the previous version returns otherwise.\n", *version, update.DefaultHealthWindow)
		return 0
	}
	st, err := u.Status()
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent update status:", err)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Println(string(b))
		return 0
	}
	if st.Current == "" {
		fmt.Println("No versions recorded yet (the first start of the service records the running one).")
		return 0
	}
	fmt.Printf("current:  %s\nprevious: %s\n", st.Current, st.Previous)
	if st.Trial != nil {
		fmt.Printf("trial:    %s since %s, %d start(s), healthy %v\n", st.Trial.Version, st.Trial.Since.Format("2006-01-02 15:04:05"), st.Trial.Starts, st.Trial.Healthy)
	}
	if st.Reason != "" {
		fmt.Printf("last rollback: %s\n", st.Reason)
	}
	if l := st.Last; l != nil {
		fmt.Printf("last update:  %s %s at %s", l.Outcome, l.Version, l.At.Local().Format("2006-01-02 15:04:05"))
		if l.Reason != "" {
			fmt.Printf(" (%s)", l.Reason)
		}
		fmt.Println()
	}
	return 0
}
