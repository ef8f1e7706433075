package hub

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target for a serving hub: each push allocates
// what it decodes, checks and hands to the writer, all dead once it is answered, and
// the live heap is a few tens of megabytes. At the default (100) the collector took a
// sixth of the hub's CPU at 1,700 pushes/s (BenchmarkFleetLoad, profiled); here it runs
// a quarter as often for a heap at most five times the live one.
const gcPercent = 400

// TuneRuntime sets the garbage collector for a serving hub, unless GOGC is set in the
// environment (an operator's choice wins). motcua-hub serve calls it once at start.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
