// Package winservice runs the agent under the Windows service manager without asking
// "was I started as a service?" first. The usual check (parent is services.exe in
// session 0) fails under wine, where every process is in session 1, so a program
// that relies on it never answers the service manager there. Run instead offers
// itself to the service dispatcher and falls back to the console when there is none.
//
// It must never decide what the agent does: it only starts and stops the function
// it is given, and turns that function's end into the process's exit.
package winservice

import "context"

// RunFunc is the agent: it runs until ctx is cancelled (a stop request) and returns
// its exit code; returning on its own means it failed or finished.
type RunFunc func(ctx context.Context) int
