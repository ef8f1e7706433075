package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"motcua-agent/config"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/qrtext"
	"motcua-agent/drivers/scanner"
)

var scanCommands = []command{
	{Name: "scan", Summary: "read a QR scanner and print each scan as the agent sees it",
		Usage: "scan listen [--port PATH | --usb VID:PID [--serial SN] | --keyboard EVDEV] [--suffix cr|lf|crlf|none] [--idle-gap 80ms] [--baud N] [--show]",
		Run:   cmdScan},
	{Name: "qr", Summary: "decode QR codes in images, or classify and parse a payload",
		Usage: "qr decode FILE|FOLDER... [--json] | qr parse PAYLOAD [--json] [--receipt-pattern RE]",
		Run:   cmdQR},
}

func cmdScan(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "listen" {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent scan listen [--port PATH | --usb VID:PID] [flags]")
		return 2
	}
	fs := flag.NewFlagSet("scan listen", flag.ContinueOnError)
	c := config.Scanner{Name: "cli"}
	fs.StringVar(&c.Port, "port", "", "serial port path (COM3, /dev/ttyACM0)")
	fs.StringVar(&c.USB, "usb", "", "USB VID:PID of the scanner (hex)")
	fs.StringVar(&c.SerialNumber, "serial", "", "USB serial number, to choose among scanners of one model")
	fs.StringVar(&c.Keyboard, "keyboard", "", "Linux evdev device of a keyboard-wedge scanner (grabbed)")
	fs.StringVar(&c.Suffix, "suffix", "cr", "scan suffix: cr, lf, crlf or none")
	fs.DurationVar(&c.IdleGap, "idle-gap", 0, "end a scan after this much silence (default 80ms with none, 400ms otherwise)")
	fs.IntVar(&c.Baud, "baud", 9600, "serial speed")
	show := fs.Bool("show", false, "print the payload and card fields (personal data: only on your own screen)")
	asJSON := fs.Bool("json", false, "one JSON object per scan")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	full, err := config.Parse([]byte(scanListenYAML(c)), "", config.Overrides{})
	if err != nil {
		return printConfigError(err)
	}
	c = full.Scanners[0]
	cl, _ := qrpayload.NewClassifier("")
	out := make(chan scanner.Scan, 16)
	r := &scanner.Reader{Config: c, OnState: func(s scanner.State, d string) {
		fmt.Fprintf(os.Stderr, "scanner %s: %s\n", s, d)
	}}
	go r.Run(ctx, out)
	fmt.Fprintln(os.Stderr, "listening; Ctrl-C to stop")
	for {
		select {
		case <-ctx.Done():
			return 0
		case s := <-out:
			printScan(os.Stdout, s, cl, *show, *asJSON)
		}
	}
}

// scanListenYAML builds a one-scanner config so the command line gets the same
// defaults and validation as a site file.
func scanListenYAML(c config.Scanner) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	b.WriteString("site: {province_code: \"01\", commune_code: \"00001\", id: cli, name: cli, device_id: cli}\nscanners:\n")
	fmt.Fprintf(&b, "  - name: cli\n    suffix: %s\n    baud: %d\n", q(c.Suffix), c.Baud)
	for k, v := range map[string]string{"port": c.Port, "usb": c.USB, "serial_number": c.SerialNumber, "keyboard": c.Keyboard} {
		if v != "" {
			fmt.Fprintf(&b, "    %s: %s\n", k, q(v))
		}
	}
	if c.IdleGap > 0 {
		fmt.Fprintf(&b, "    idle_gap: %s\n", c.IdleGap)
	}
	return b.String()
}

// scanView is what `scan listen` and `qr parse` print.
type scanView struct {
	Time    string            `json:"time,omitempty"`
	Scanner string            `json:"scanner,omitempty"`
	Bytes   int               `json:"bytes,omitempty"`
	ByIdle  bool              `json:"by_idle,omitempty"`
	Kind    string            `json:"kind"`
	Error   string            `json:"error,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Payload string            `json:"payload,omitempty"`
}

func viewPayload(p qrpayload.Payload, show bool) scanView {
	v := scanView{Kind: string(p.Kind), Fields: map[string]string{}}
	switch {
	case p.Card != nil:
		q := p.Card
		v.Fields["id"] = mask(q.ID, show)
		v.Fields["old_id"] = mask(q.OldID, show)
		v.Fields["name"] = mask(q.Name, show)
		v.Fields["birth"] = q.Birth.String()
		v.Fields["sex"] = q.Sex
		v.Fields["residence"] = mask(q.Residence, show)
		v.Fields["issued"] = q.Issued.String()
		for i, e := range q.Extra {
			v.Fields[fmt.Sprintf("extra_%d", i+1)] = mask(e, show)
		}
	case p.Receipt != nil:
		v.Fields["dossier"] = p.Receipt.Code
		v.Fields["service"] = p.Receipt.Service
	case p.Problem != "":
		v.Error = p.Problem
	}
	if show {
		v.Payload = p.Text
	}
	return v
}

// mask hides personal values unless asked: the first and last character stay.
func mask(s string, show bool) string {
	if show || s == "" {
		return s
	}
	r := []rune(s)
	if len(r) <= 2 {
		return "**"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

func printScan(w io.Writer, s scanner.Scan, cl *qrpayload.Classifier, show, asJSON bool) {
	var v scanView
	if s.Err != nil {
		v = scanView{Kind: "unreadable", Error: s.Err.Error()}
	} else {
		v = viewPayload(cl.ClassifyText(s.Text), show)
	}
	v.Time, v.Scanner, v.Bytes, v.ByIdle = s.Received.Format(time.TimeOnly+".000"), s.Tag, s.Bytes, s.ByIdle
	writeView(w, v, asJSON)
}

func writeView(w io.Writer, v scanView, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		return
	}
	head := v.Kind
	if v.Time != "" {
		head = fmt.Sprintf("%s %s %d bytes%s: %s", v.Time, v.Scanner, v.Bytes, map[bool]string{true: " (idle gap)"}[v.ByIdle], v.Kind)
	}
	fmt.Fprintln(w, head)
	if v.Error != "" {
		fmt.Fprintln(w, "  error:", v.Error)
	}
	for _, k := range []string{"id", "old_id", "name", "birth", "sex", "residence", "issued", "dossier", "service"} {
		if val, ok := v.Fields[k]; ok {
			fmt.Fprintf(w, "  %-10s %s\n", k, val)
		}
	}
	for i := 1; ; i++ {
		val, ok := v.Fields[fmt.Sprintf("extra_%d", i)]
		if !ok {
			break
		}
		fmt.Fprintf(w, "  extra %-4d %s\n", i, val)
	}
	if v.Payload != "" {
		fmt.Fprintf(w, "  payload    %s\n", v.Payload)
	}
}

func cmdQR(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent qr decode FILE|FOLDER... [--json] | qr parse PAYLOAD [--json]")
		return 2
	}
	switch args[0] {
	case "parse":
		return cmdQRParse(args[1:])
	case "decode":
		return cmdQRDecode(ctx, args[1:])
	}
	fmt.Fprintf(os.Stderr, "unknown qr subcommand %q (decode, parse)\n", args[0])
	return 2
}

// splitFlags lets flags come after the positional arguments ("qr parse X --json").
func splitFlags(args []string) (flags, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(rest, args[i+1:]...)
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if (a == "--receipt-pattern" || a == "-receipt-pattern") && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		rest = append(rest, a)
	}
	return flags, rest
}

func cmdQRParse(args []string) int {
	fs := flag.NewFlagSet("qr parse", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pattern := fs.String("receipt-pattern", "", "the province's dossier receipt pattern (default: "+config.DefaultReceiptPattern+")")
	flags, rest := splitFlags(args)
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(rest) != 1 {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent qr parse PAYLOAD [--json] (quote the payload; '-' reads it from stdin)")
		return 2
	}
	raw := []byte(rest[0])
	if rest[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, qrtext.MaxPayload+1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "read stdin:", err)
			return 1
		}
		raw = b
	}
	cl, err := qrpayload.NewClassifier(*pattern)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, err := cl.Classify(raw)
	if err != nil {
		v := scanView{Kind: "unreadable", Error: err.Error()}
		writeView(os.Stdout, v, *asJSON)
		if errors.Is(err, qrtext.ErrEmpty) {
			return 2
		}
		return 1
	}
	writeView(os.Stdout, viewPayload(p, true), *asJSON)
	if p.Kind == qrpayload.KindCCCDInvalid {
		return 1
	}
	return 0
}
