//go:build !linux

package ptypair

import "os/exec"

// tieToParent does nothing here: only Linux has a parent-death signal; the demo and
// the tests run their pty pairs on Linux.
func tieToParent(*exec.Cmd) {}
