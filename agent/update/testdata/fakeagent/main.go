// fakeagent stands in for motcua-agent in agent/update's tests: the same update
// package, built with -X main.version=V -X main.mode=good|crash|unhealthy.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"motcua-agent/agent/update"
)

var (
	version = "0"
	mode    = "good"
)

func main() {
	hw, _ := time.ParseDuration(os.Getenv("FAKE_HEALTH_WINDOW"))
	u := &update.Updater{Dir: os.Getenv("FAKE_DIR"), Binary: "fakeagent", MaxStarts: 3, HealthWindow: hw}
	switch os.Args[1] {
	case "boot":
		self, _ := os.Executable()
		exe, err := u.Boot(self, version)
		if err != nil {
			fmt.Fprintln(os.Stderr, "boot:", err)
		}
		fmt.Println(exe)
	case "apply":
		u.Step = func(s string) {
			if s == os.Getenv("FAKE_PAUSE") {
				fmt.Println("paused", s)
				time.Sleep(time.Hour)
			}
		}
		data, err := os.ReadFile(os.Args[2])
		if err == nil {
			err = u.Apply(os.Args[3], data)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "apply:", err)
			os.Exit(1)
		}
		fmt.Println("applied")
	case "run":
		if mode == "crash" {
			os.Exit(2)
		}
		fmt.Println("running", version)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		err := u.Confirm(ctx, version, func() bool { return mode == "good" }, 20*time.Millisecond)
		if errors.Is(err, update.ErrRolledBack) {
			fmt.Println("rolledback")
			os.Exit(3)
		}
		<-ctx.Done()
	}
}
