//go:build !unix

package netguard

// DescriptorBudget is 0 (no limit known): Windows has no per-process cap on sockets
// of the kind RLIMIT_NOFILE is.
func DescriptorBudget() int { return 0 }
