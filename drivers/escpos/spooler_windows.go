//go:build windows

package escpos

import (
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Windows print spooler (winspool.drv), for USB printers installed the Windows way:
// a job of datatype RAW goes to the printer by its Windows name, untouched by any
// driver, which is how ESC/POS printers are driven there.
var (
	winspool             = windows.NewLazySystemDLL("winspool.drv")
	procOpenPrinter      = winspool.NewProc("OpenPrinterW")
	procClosePrinter     = winspool.NewProc("ClosePrinter")
	procStartDocPrinter  = winspool.NewProc("StartDocPrinterW")
	procEndDocPrinter    = winspool.NewProc("EndDocPrinter")
	procStartPagePrinter = winspool.NewProc("StartPagePrinter")
	procEndPagePrinter   = winspool.NewProc("EndPagePrinter")
	procWritePrinter     = winspool.NewProc("WritePrinter")
	procEnumPrinters     = winspool.NewProc("EnumPrintersW")
)

// docInfo1 is DOC_INFO_1.
type docInfo1 struct {
	docName    *uint16
	outputFile *uint16
	datatype   *uint16
}

// spoolJob is one RAW job on a Windows printer. The spooler queues it, so there is no
// status to read and a write never blocks on the printer itself.
type spoolJob struct {
	printer windows.Handle
	inDoc   bool
}

func openSpooler(name string) (conn, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("%w: Windows printer name %q: %v", ErrUnplugged, name, err)
	}
	var h windows.Handle
	if r, _, e := procOpenPrinter.Call(uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&h)), 0); r == 0 {
		return nil, spoolerOpenError(name, e)
	}
	j := &spoolJob{printer: h}
	doc := docInfo1{docName: windows.StringToUTF16Ptr("motcua-agent ticket"), datatype: windows.StringToUTF16Ptr("RAW")}
	if r, _, e := procStartDocPrinter.Call(uintptr(h), 1, uintptr(unsafe.Pointer(&doc))); r == 0 {
		procClosePrinter.Call(uintptr(h))
		return nil, fmt.Errorf("%w: Windows printer %q: start a RAW job: %v", ErrUnplugged, name, e)
	}
	j.inDoc = true
	if r, _, e := procStartPagePrinter.Call(uintptr(h)); r == 0 {
		j.Close()
		return nil, fmt.Errorf("%w: Windows printer %q: start page: %v", ErrUnplugged, name, e)
	}
	return j, nil
}

func (j *spoolJob) Write(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		var written uint32
		chunk := p[total:]
		r, _, e := procWritePrinter.Call(uintptr(j.printer), uintptr(unsafe.Pointer(&chunk[0])), uintptr(len(chunk)), uintptr(unsafe.Pointer(&written)))
		if r == 0 {
			return total, fmt.Errorf("spooler: WritePrinter: %v", e)
		}
		if written == 0 {
			return total, fmt.Errorf("spooler: WritePrinter accepted no bytes")
		}
		total += int(written)
	}
	return total, nil
}

func (j *spoolJob) Read([]byte) (int, error) {
	return 0, fmt.Errorf("spooler: a Windows printer queue cannot be read")
}

// Close ends the job, which hands it to the printer, and releases the printer.
func (j *spoolJob) Close() error {
	if j.printer == 0 {
		return nil
	}
	var err error
	if j.inDoc {
		procEndPagePrinter.Call(uintptr(j.printer))
		if r, _, e := procEndDocPrinter.Call(uintptr(j.printer)); r == 0 {
			err = fmt.Errorf("spooler: EndDocPrinter: %v", e)
		}
		j.inDoc = false
	}
	procClosePrinter.Call(uintptr(j.printer))
	j.printer = 0
	return err
}

func (j *spoolJob) SetReadDeadline(time.Time) error  { return nil }
func (j *spoolJob) SetWriteDeadline(time.Time) error { return nil }

// printerInfo2 is the head of PRINTER_INFO_2 up to the fields listed.
type printerInfo2 struct {
	serverName, printerName, shareName, portName, driverName, comment, location *uint16
	devMode                                                                     uintptr
	sepFile, printProcessor, datatype, parameters                               *uint16
	securityDescriptor                                                          uintptr
	attributes, priority, defaultPriority, startTime, untilTime, status, jobs   uint32
	averagePPM                                                                  uint32
}

const (
	printerEnumLocal       = 0x2
	printerEnumConnections = 0x4
	printerStatusOffline   = 0x80
	printerStatusError     = 0x2
	printerStatusPaperOut  = 0x10
)

// WindowsPrinters lists the printers installed in Windows (local and connected), for
// `motcua-agent devices` and for choosing printer.name.
func WindowsPrinters() ([]WindowsPrinter, error) {
	flags := uintptr(printerEnumLocal | printerEnumConnections)
	var needed, count uint32
	procEnumPrinters.Call(flags, 0, 2, 0, 0, uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&count)))
	if needed == 0 {
		return []WindowsPrinter{}, nil
	}
	buf := make([]byte, needed)
	if r, _, e := procEnumPrinters.Call(flags, 0, 2, uintptr(unsafe.Pointer(&buf[0])), uintptr(needed),
		uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&count))); r == 0 {
		return nil, fmt.Errorf("list Windows printers: EnumPrinters: %v", e)
	}
	infos := unsafe.Slice((*printerInfo2)(unsafe.Pointer(&buf[0])), count)
	out := make([]WindowsPrinter, 0, count)
	for _, in := range infos {
		out = append(out, WindowsPrinter{
			Name:     windows.UTF16PtrToString(in.printerName),
			Port:     windows.UTF16PtrToString(in.portName),
			Driver:   windows.UTF16PtrToString(in.driverName),
			Offline:  in.status&printerStatusOffline != 0,
			PaperOut: in.status&printerStatusPaperOut != 0,
			Error:    in.status&printerStatusError != 0,
		})
	}
	return out, nil
}

// errInvalidPrinterName is Windows' ERROR_INVALID_PRINTER_NAME (1801).
const errInvalidPrinterName = syscall.Errno(1801)

// spoolerOpenError says, in English for the log and in Vietnamese for the technician
// reading it, that a Windows printer of that name could not be opened.
func spoolerOpenError(name string, cause error) error {
	if errors.Is(cause, errInvalidPrinterName) {
		return fmt.Errorf("%w: no Windows printer named %q (check the exact name under Settings > Printers & scanners, or run `motcua-agent devices`) / không có máy in tên %q trong Windows: kiểm tra tên máy in trong Cài đặt > Máy in và máy quét: %v",
			ErrUnplugged, name, name, cause)
	}
	return fmt.Errorf("%w: cannot open Windows printer %q / không mở được máy in %q: %v", ErrUnplugged, name, name, cause)
}
