//go:build windows

package update

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// switchTo points the service at DATA\versions\V\motcua-agent.exe through the service
// manager (its BinaryPathName, arguments kept): no running .exe is renamed or
// replaced; the next start of the service runs the new file. Only the command line is
// read and changed (QueryServiceConfig, ChangeServiceConfig with SERVICE_NO_CHANGE),
// not the description and other optional settings mgr.Config also asks for, which
// wine's service manager refuses ("Invalid level").
func switchTo(u *Updater, version string) error {
	return u.withService(func(s *mgr.Service, line string) error {
		_, args := splitCommandLine(line)
		p, err := windows.UTF16PtrFromString(`"` + filepath.Join(u.Dir, version, u.Binary) + `"` + args)
		if err != nil {
			return err
		}
		nc := uint32(windows.SERVICE_NO_CHANGE)
		if err := windows.ChangeServiceConfig(s.Handle, nc, nc, nc, p, nil, nil, nil, nil, nil, nil); err != nil {
			return fmt.Errorf("change service %s: %w", u.service(), err)
		}
		return nil
	})
}

// linkedVersion is the version folder the service's executable is in.
func linkedVersion(u *Updater) (string, error) {
	var v string
	err := u.withService(func(_ *mgr.Service, line string) error {
		exe, _ := splitCommandLine(line)
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

// withService calls f with the agent's service and its command line.
func (u *Updater) withService(f func(s *mgr.Service, commandLine string) error) error {
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
	line, err := binaryPathName(s.Handle)
	if err != nil {
		return fmt.Errorf("read service %s: %w", u.service(), err)
	}
	return f(s, line)
}

func binaryPathName(h windows.Handle) (string, error) {
	var need uint32
	err := windows.QueryServiceConfig(h, nil, 0, &need)
	if err != nil && !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
		return "", err
	}
	buf := make([]uint64, need/8+1) // 8-byte aligned for the struct's pointers
	c := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(h, c, uint32(len(buf)*8), &need); err != nil {
		return "", err
	}
	return windows.UTF16PtrToString(c.BinaryPathName), nil
}

func (u *Updater) executable(st State) string {
	return filepath.Join(u.Dir, st.Current, u.Binary)
}
