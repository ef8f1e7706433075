//go:build windows

package keyboard

import (
	"context"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"

	"motcua-agent/config"
)

var (
	procRegisterHotKey    = user32.NewProc("RegisterHotKey")
	procUnregisterHotKey  = user32.NewProc("UnregisterHotKey")
	procGetMessageW       = user32.NewProc("GetMessageW")
	procPostThreadMessage = user32.NewProc("PostThreadMessageW")
	procGetAsyncKeyState  = user32.NewProc("GetAsyncKeyState")
)

const (
	modAlt, modControl, modShift, modNoRepeat = 0x0001, 0x0002, 0x0004, 0x4000
	wmHotkey, wmQuit                          = 0x0312, 0x0012
	vkF1, vkShift, vkControl, vkMenu          = 0x70, 0x10, 0x11, 0x12
)

type winMsg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      [2]int32
	private uint32
}

// ListenHotkey registers h with RegisterHotKey and sends on the returned channel each
// time it is pressed, once its modifiers are released. It stops when ctx ends.
func ListenHotkey(ctx context.Context, _ Options, h config.Hotkey) (<-chan struct{}, error) {
	var mods uintptr = modNoRepeat
	if h.Ctrl {
		mods |= modControl
	}
	if h.Alt {
		mods |= modAlt
	}
	if h.Shift {
		mods |= modShift
	}
	out := make(chan struct{}, 1)
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(out)
		tid := windows.GetCurrentThreadId()
		if r, _, err := procRegisterHotKey.Call(0, 1, mods, uintptr(vkF1+h.F-1)); r == 0 {
			ready <- fmt.Errorf("keyboard: hotkey %s is taken by another program: %v", h, err)
			return
		}
		defer procUnregisterHotKey.Call(0, 1)
		ready <- nil
		go func() {
			<-ctx.Done()
			procPostThreadMessage.Call(uintptr(tid), wmQuit, 0, 0)
		}()
		var m winMsg
		for {
			r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
			if int32(r) <= 0 {
				return
			}
			if m.message != wmHotkey {
				continue
			}
			for _, vk := range []uintptr{vkShift, vkControl, vkMenu} {
				for i := 0; i < 100; i++ {
					if s, _, _ := procGetAsyncKeyState.Call(vk); s&0x8000 == 0 {
						break
					}
					windows.SleepEx(20, false)
				}
			}
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return out, nil
}
