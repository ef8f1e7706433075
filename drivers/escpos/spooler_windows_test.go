package escpos

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"motcua-agent/config"
)

// A printer name Windows does not know is refused when the job is opened, with the
// name and what to check, in English and Vietnamese.
func TestSpoolerUnknownPrinter(t *testing.T) {
	p, err := New(config.Printer{Transport: "windows", Name: "Máy in không có", PaperWidthMM: 80})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.Print(ctx, []byte{0x1b, '@', 'x', '\n'})
	if !errors.Is(err, ErrUnplugged) {
		t.Fatalf("print to an unknown printer: %v, want ErrUnplugged", err)
	}
	for _, want := range []string{`"Máy in không có"`, "máy in"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if _, err := p.Status(ctx); err == nil {
		t.Fatal("status of an unknown spooler printer: no error")
	}
}

// The printers Windows lists. With MOTCUA_TEST_PRINTER_LISTED set, a printer of that
// name must be listed with its port and driver; with MOTCUA_TEST_PRINTER set (a
// printer that exists on this PC and takes RAW jobs), a ticket job must be accepted.
func TestSpoolerListAndPrint(t *testing.T) {
	printers, err := WindowsPrinters()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range printers {
		if pr.Name == "" {
			t.Fatalf("a printer without a name: %+v", pr)
		}
		t.Logf("printer %q on port %q, driver %q", pr.Name, pr.Port, pr.Driver)
	}
	if want := os.Getenv("MOTCUA_TEST_PRINTER_LISTED"); want != "" {
		found := false
		for _, pr := range printers {
			found = found || (pr.Name == want && pr.Port != "" && pr.Driver != "")
		}
		if !found {
			t.Fatalf("printer %q with its port and driver not among %+v", want, printers)
		}
	}
	name := os.Getenv("MOTCUA_TEST_PRINTER")
	if name == "" {
		t.Skip("MOTCUA_TEST_PRINTER not set: no printer to send a job to")
	}
	found := false
	for _, pr := range printers {
		found = found || pr.Name == name
	}
	if !found {
		t.Fatalf("printer %q not listed among %+v", name, printers)
	}
	p, err := New(config.Printer{Transport: "windows", Name: name, PaperWidthMM: 80})
	if err != nil {
		t.Fatal(err)
	}
	var w Writer
	w.Init()
	w.Cut()
	if err := p.Print(context.Background(), w.Bytes()); err != nil {
		t.Fatalf("RAW job to %q: %v", name, err)
	}
}
