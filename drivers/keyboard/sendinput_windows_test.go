//go:build windows

package keyboard

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"motcua-agent/internal/testkit"
)

var (
	procCreateWindowExW  = user32.NewProc("CreateWindowExW")
	procDestroyWindow    = user32.NewProc("DestroyWindow")
	procSetForeground    = user32.NewProc("SetForegroundWindow")
	procSetFocus         = user32.NewProc("SetFocus")
	procPeekMessageW     = user32.NewProc("PeekMessageW")
	procTranslateMessage = user32.NewProc("TranslateMessage")
	procDispatchMessageW = user32.NewProc("DispatchMessageW")
	procGetWindowTextW   = user32.NewProc("GetWindowTextW")
	procShowWindow       = user32.NewProc("ShowWindow")
)

type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      [2]int32
	private uint32
}

// TestSendInputIntoEdit types Vietnamese with KEYEVENTF_UNICODE into a real EDIT
// control that has the focus and reads it back with GetWindowTextW. It needs an
// interactive desktop (a Windows session, or wine on an X display).
func TestSendInputIntoEdit(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const wsOverlappedWindow, wsVisible, esMultiline, esAutoHScroll = 0x00CF0000, 0x10000000, 0x0004, 0x0080
	class, _ := syscall.UTF16PtrFromString("EDIT")
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(class)), 0, wsOverlappedWindow|wsVisible|esMultiline|esAutoHScroll,
		0, 0, 600, 200, 0, 0, 0, 0)
	if hwnd == 0 {
		t.Skipf("no desktop to create a window on: %v", err)
	}
	defer procDestroyWindow.Call(hwnd)
	procShowWindow.Call(hwnd, 5)
	procSetForeground.Call(hwnd)
	procSetFocus.Call(hwnd)
	pump := func(d time.Duration) {
		var m msg
		for end := time.Now().Add(d); time.Now().Before(end); {
			for {
				r, _, _ := procPeekMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0, 1)
				if r == 0 {
					break
				}
				procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
				procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	pump(200 * time.Millisecond)
	ty, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "001099012345 Nguyễn Thị Ánh Tuyết, Đắk Lắk 𝔸"
	if err := ty.Type(context.Background(), []Stroke{Text(want)}); err != nil {
		t.Fatal(err)
	}
	got := ""
	testkit.Eventually(t, 10*time.Second, func() bool {
		pump(50 * time.Millisecond)
		buf := make([]uint16, 256)
		n, _, _ := procGetWindowTextW.Call(hwnd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		got = syscall.UTF16ToString(buf[:n])
		return got == want
	}, "the edit control to hold %q (it holds %q)", want, func() string { return got })
}

// The INPUT array is laid out as Windows expects: one key-down and one key-up per
// UTF-16 code unit, a surrogate pair for characters beyond the BMP.
func TestInputsLayout(t *testing.T) {
	if sz := unsafe.Sizeof(input{}); (unsafe.Sizeof(uintptr(0)) == 8 && sz != 40) || (unsafe.Sizeof(uintptr(0)) == 4 && sz != 28) {
		t.Fatalf("sizeof(INPUT) = %d", sz)
	}
	in := inputs([]Stroke{Text("Đ𝔸"), Press(KeyTab)})
	if len(in) != 2+4+2 {
		t.Fatalf("%d inputs", len(in))
	}
	if in[0].ki.scan != 0x0110 || in[0].ki.flags != keyeventfUnicode || in[1].ki.flags != keyeventfUnicode|keyeventfKeyUp {
		t.Fatalf("Đ: %+v %+v", in[0], in[1])
	}
	if in[2].ki.scan != 0xD835 || in[4].ki.scan != 0xDD38 || in[6].ki.vk != vkTab || in[7].ki.flags != keyeventfKeyUp {
		t.Fatalf("inputs %+v", in)
	}
}
