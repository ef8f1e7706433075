//go:build windows

package update

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes f's exclusive lock, waiting for it; Windows releases it when the
// holder's handle closes, as at a crash.
func lockFile(f *os.File) (func(), error) {
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		return nil, err
	}
	return func() { windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol) }, nil
}
