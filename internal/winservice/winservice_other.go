//go:build !windows

package winservice

// Run is for Windows; elsewhere there is no service dispatcher to offer fn to, so it
// returns at once with asService false and fn not run.
func Run(name string, fn RunFunc) (code int, asService bool) { return 0, false }
