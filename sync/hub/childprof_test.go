package hub

import (
	"os"
	"runtime/pprof"
	"strconv"
	"time"
)

// A hub child of BenchmarkFleetLoad profiles itself when MOTCUA_HUB_CHILD_CPUPROFILE
// names a file: for MOTCUA_HUB_CHILD_PROFILE_SECONDS (default 10) from its start, then
// writes the profile (the benchmark kills its children, so the profile is written
// before that, not at exit). Read it with `go tool pprof -top hub.test FILE`.
func init() {
	path := os.Getenv("MOTCUA_HUB_CHILD_CPUPROFILE")
	if os.Getenv(hubChildEnv) == "" || path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil || pprof.StartCPUProfile(f) != nil {
		return
	}
	secs, err := strconv.Atoi(os.Getenv("MOTCUA_HUB_CHILD_PROFILE_SECONDS"))
	if err != nil || secs <= 0 {
		secs = 10
	}
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}
