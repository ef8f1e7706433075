package hub

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"
)

// A hub child of BenchmarkFleetLoad profiles itself when MOTCUA_HUB_CHILD_CPUPROFILE
// names a file: for MOTCUA_HUB_CHILD_PROFILE_SECONDS (default 10) from its start, then
// writes the profile (the benchmark kills its children, so the profile is written
// before that, not at exit). Read it with `go tool pprof -top hub.test FILE`.
func init() {
	profileSeconds := func() time.Duration {
		secs, err := strconv.Atoi(os.Getenv("MOTCUA_HUB_CHILD_PROFILE_SECONDS"))
		if err != nil || secs <= 0 {
			secs = 10
		}
		return time.Duration(secs) * time.Second
	}
	// MOTCUA_HUB_CHILD_TRACE names a file for an execution trace of the same seconds:
	// where pushes wait (`go tool trace -pprof=sync|net|syscall|sched FILE`).
	if path := os.Getenv("MOTCUA_HUB_CHILD_TRACE"); path != "" && os.Getenv(hubChildEnv) != "" {
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			time.AfterFunc(profileSeconds(), func() {
				trace.Stop()
				f.Close()
			})
		}
	}
	path := os.Getenv("MOTCUA_HUB_CHILD_CPUPROFILE")
	if os.Getenv(hubChildEnv) == "" || path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil || pprof.StartCPUProfile(f) != nil {
		return
	}
	time.AfterFunc(profileSeconds(), func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}
