//go:build !windows

package update

import (
	"fmt"
	"os"
	"path/filepath"

	"motcua-agent/internal/atomicfile"
)

// switchTo points DATA/versions/current at version: a new symlink renamed over the old
// one, so `current` is at every instant either the old or the new version.
func switchTo(u *Updater, version string) error {
	tmp := filepath.Join(u.Dir, ".current-new")
	os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(u.Dir, "current")); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	atomicfile.SyncDir(u.Dir)
	return nil
}

// linkedVersion is the version `current` points at.
func linkedVersion(u *Updater) (string, error) {
	v, err := os.Readlink(filepath.Join(u.Dir, "current"))
	if err != nil {
		return "", err
	}
	return filepath.Base(v), nil
}

func (u *Updater) executable(State) string {
	return filepath.Join(u.Dir, "current", u.Binary)
}
