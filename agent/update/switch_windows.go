//go:build windows

package update

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows/svc/mgr"
)

// switchTo points the service at DATA\versions\V\motcua-agent.exe through the service
// manager (its BinaryPathName, arguments kept): no running .exe is renamed or
// replaced; the next start of the service runs the new file.
func switchTo(u *Updater, version string) error {
	return u.withService(func(s *mgr.Service, c mgr.Config) error {
		_, args := splitCommandLine(c.BinaryPathName)
		c.BinaryPathName = `"` + filepath.Join(u.Dir, version, u.Binary) + `"` + args
		if err := s.UpdateConfig(c); err != nil {
			return fmt.Errorf("change service %s: %w", u.service(), err)
		}
		return nil
	})
}

// linkedVersion is the version folder the service's executable is in.
func linkedVersion(u *Updater) (string, error) {
	var v string
	err := u.withService(func(_ *mgr.Service, c mgr.Config) error {
		exe, _ := splitCommandLine(c.BinaryPathName)
		dir := filepath.Dir(exe)
		if !strings.EqualFold(filepath.Dir(dir), filepath.Clean(u.Dir)) {
			return fmt.Errorf("service %s runs %s, outside %s", u.service(), exe, u.Dir)
		}
		v = filepath.Base(dir)
		return nil
	})
	return v, err
}

func (u *Updater) service() string {
	if u.Service != "" {
		return u.Service
	}
	return ServiceName
}

// withService calls f with the agent's service and its configuration.
func (u *Updater) withService(f func(*mgr.Service, mgr.Config) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w (run as an administrator or as the service)", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(u.service())
	if err != nil {
		return fmt.Errorf("open service %s: %w", u.service(), err)
	}
	defer s.Close()
	c, err := s.Config()
	if err != nil {
		return fmt.Errorf("read service %s: %w", u.service(), err)
	}
	return f(s, c)
}

func (u *Updater) executable(st State) string {
	return filepath.Join(u.Dir, st.Current, u.Binary)
}
