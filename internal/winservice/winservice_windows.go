//go:build windows

package winservice

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// Run runs fn as the Windows service name when the service manager started this
// process, and returns fn's exit code with asService true. When no service manager
// is waiting (a console), it returns at once with asService false and fn not run.
//
// If fn returns before a stop request, the process exits with fn's code (1 when fn
// says 0): the service manager sees a failure and applies the recovery actions.
func Run(name string, fn RunFunc) (code int, asService bool) {
	// Asking the dispatcher from a console costs 10 s under wine before it says no;
	// a service's parent is the service manager, whatever the session.
	if !parentIsServiceManager() {
		return 0, false
	}
	h := &handler{fn: fn}
	err := svc.Run(name, h)
	if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		return 0, false
	}
	if err != nil {
		return 1, true
	}
	return h.code, true
}

// parentIsServiceManager reports whether this process was started by services.exe.
func parentIsServiceManager() bool {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(snap)
	names := map[uint32]string{}
	parent := map[uint32]uint32{}
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		names[e.ProcessID] = windows.UTF16ToString(e.ExeFile[:])
		parent[e.ProcessID] = e.ParentProcessID
	}
	name := names[parent[windows.GetCurrentProcessId()]]
	return strings.EqualFold(filepath.Base(strings.ReplaceAll(name, `\`, "/")), "services.exe")
}

type handler struct {
	fn   RunFunc
	code int
}

func (h *handler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- h.fn(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case code := <-done:
			// Ended by itself: exit without reporting "stopped", which the service
			// manager treats as a crash and answers with the recovery actions.
			if code == 0 {
				code = 1
			}
			os.Exit(code)
		case r := <-requests:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				h.code = <-done
				return false, uint32(h.code)
			}
		}
	}
}
