package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"go.bug.st/serial/enumerator"

	"motcua-agent/drivers/escpos"
	"motcua-agent/drivers/pcsc"
)

var devicesCommands = []command{
	{Name: "devices", Summary: "list PC/SC card readers and serial ports",
		Usage: "devices [--json]", Run: cmdDevices},
}

// deviceList is what `devices` reports; Problems say, in plain words, what could not
// be listed and why, without failing the rest.
type deviceList struct {
	Readers     []readerView `json:"readers"`
	SerialPorts []portView   `json:"serial_ports"`
	// WindowsPrinters are the printers installed in Windows (transport: windows).
	WindowsPrinters []escpos.WindowsPrinter `json:"windows_printers,omitempty"`
	Problems        []string                `json:"problems,omitempty"`
}

type readerView struct {
	Name        string `json:"name"`
	CardPresent bool   `json:"card_present"`
	ATR         string `json:"atr,omitempty"`
}

type portView struct {
	Path         string `json:"path"`
	USB          bool   `json:"usb"`
	VID          string `json:"vid,omitempty"`
	PID          string `json:"pid,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	Product      string `json:"product,omitempty"`
}

func listDevices(ctx context.Context) deviceList {
	var d deviceList
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	readers, err := pcsc.ListReaders(ctx)
	switch {
	case errors.Is(err, pcsc.ErrNoService):
		d.Problems = append(d.Problems, "card readers: the PC/SC service is not running (Linux: apt-get install pcscd, then systemctl start pcscd; Windows: start the 'Smart Card' service)")
	case err != nil:
		d.Problems = append(d.Problems, "card readers: "+err.Error())
	}
	for _, r := range readers {
		d.Readers = append(d.Readers, readerView{Name: r.Name, CardPresent: r.CardPresent, ATR: hex.EncodeToString(r.ATR)})
	}
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		d.Problems = append(d.Problems, "serial ports: "+err.Error())
	}
	for _, p := range ports {
		d.SerialPorts = append(d.SerialPorts, portView{Path: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID,
			SerialNumber: p.SerialNumber, Product: p.Product})
	}
	if d.Readers == nil {
		d.Readers = []readerView{}
	}
	if runtime.GOOS == "windows" {
		ps, err := escpos.WindowsPrinters()
		if err != nil {
			d.Problems = append(d.Problems, "Windows printers: "+err.Error())
		}
		d.WindowsPrinters = ps
	}
	if d.SerialPorts == nil {
		d.SerialPorts = []portView{}
	}
	return d
}

func cmdDevices(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d := listDevices(ctx)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(d)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CARD READER\tCARD\tATR")
	if len(d.Readers) == 0 {
		fmt.Fprintln(tw, "(none)\t\t")
	}
	for _, r := range d.Readers {
		card := "empty"
		if r.CardPresent {
			card = "present"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, card, r.ATR)
	}
	fmt.Fprintln(tw, "\nSERIAL PORT\tUSB VID:PID\tSERIAL NUMBER\tPRODUCT")
	if len(d.SerialPorts) == 0 {
		fmt.Fprintln(tw, "(none)\t\t\t")
	}
	for _, p := range d.SerialPorts {
		id := "-"
		if p.USB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Path, id, p.SerialNumber, p.Product)
	}
	if runtime.GOOS == "windows" {
		fmt.Fprintln(tw, "\nWINDOWS PRINTER\tPORT\tDRIVER\tSTATE")
		if len(d.WindowsPrinters) == 0 {
			fmt.Fprintln(tw, "(none)\t\t\t")
		}
		for _, p := range d.WindowsPrinters {
			state := "ready"
			switch {
			case p.Error:
				state = "error"
			case p.PaperOut:
				state = "paper out"
			case p.Offline:
				state = "offline"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Port, p.Driver, state)
		}
	}
	tw.Flush()
	for _, p := range d.Problems {
		fmt.Fprintln(os.Stderr, "note:", p)
	}
	return 0
}
