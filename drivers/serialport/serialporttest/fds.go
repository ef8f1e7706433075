// Package serialporttest pushes a test process past select()'s 1,024 descriptors, so
// the next device it opens gets a number the old serial library could not wait on.
// Test support only.
package serialporttest

import (
	"os"
	"testing"
)

// SelectSetSize is how many descriptors select(2)'s set holds.
const SelectSetSize = 1024

// HoldDescriptors opens /dev/null until the process's next descriptor is above
// SelectSetSize+margin, and closes them all when the test ends. It skips the test
// where the process may not open that many files.
func HoldDescriptors(t testing.TB, margin int) {
	t.Helper()
	var files []*os.File
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
	})
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Skipf("cannot open more than %d files (raise ulimit -n): %v", len(files), err)
		}
		files = append(files, f)
		if Descriptor(f) > SelectSetSize+margin {
			return
		}
	}
}

// Descriptor is f's descriptor number (without f.Fd(), which would make it blocking).
func Descriptor(f *os.File) int {
	fd := -1
	if sc, err := f.SyscallConn(); err == nil {
		sc.Control(func(d uintptr) { fd = int(d) })
	}
	return fd
}
