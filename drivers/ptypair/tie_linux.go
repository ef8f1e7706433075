//go:build linux

package ptypair

import (
	"os/exec"
	"syscall"
)

// tieToParent has the kernel kill cmd when the thread that starts it ends, which
// startTied makes the same as when this process ends, however it ends.
func tieToParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
