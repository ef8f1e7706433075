//go:build !windows

package update

import (
	"os"
	"syscall"
)

// lockFile takes f's exclusive lock, waiting for it; the kernel drops it when its
// holder dies, so a kill -9 never leaves it held.
func lockFile(f *os.File) (func(), error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() {}, nil
}
