//go:build unix

package netguard

import "syscall"

// DescriptorBudget is how many descriptors the process may hold open: RLIMIT_NOFILE's
// soft limit (Go raises it to the hard limit at start), 0 when it cannot be read.
func DescriptorBudget() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
