//go:build !windows

package escpos

import "errors"

func openSpooler(name string) (conn, error) {
	return nil, errors.New("printer: transport windows prints through the Windows print spooler and works only on Windows (use usb, serial, tcp or file here)")
}

// WindowsPrinters lists the printers installed in Windows; elsewhere there are none.
func WindowsPrinters() ([]WindowsPrinter, error) { return []WindowsPrinter{}, nil }
