package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"motcua-agent/agent/identity"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/pcsc"
)

// CardReadUsage is the `card read` synopsis.
const CardReadUsage = "card read --reader NAME (--qr PAYLOAD | --mrz MRZ | --can CAN | --doc DOCNO --dob YYMMDD --expiry YYMMDD) [--photo FILE] [--trust DIR] [--json] [--timeout 20s]"

// CardRead is the `card read` command: read and verify the card in one reader with
// keys from the command line, and print each check as its own fact. It exits 0 when
// the chip was read (whatever the checks say), 1 when it could not be read, 2 on a
// usage error.
func CardRead(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("card read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reader := fs.String("reader", "", "PC/SC reader name (or a part of it); default: the only reader holding a card")
	qr := fs.String("qr", "", "payload of the card's QR code")
	mrz := fs.String("mrz", "", "the MRZ printed on the card (lines separated by newlines or run together)")
	can := fs.String("can", "", "card access number (6 digits; on a CCCD the ID's last 6 digits)")
	doc := fs.String("doc", "", "document number (on a CCCD: the 12-digit ID or its last 9 digits)")
	dob := fs.String("dob", "", "date of birth YYMMDD")
	exp := fs.String("expiry", "", "date of expiry YYMMDD")
	photo := fs.String("photo", "", "write the portrait (JPEG) to this file")
	trustDir := fs.String("trust", "", "trust store folder (CSCA certificates from `trust import`)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	timeout := fs.Duration("timeout", 20*time.Second, "give up the read after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	keys, q, err := identity.KeysFrom(*qr, *mrz, *can, *doc, *dob, *exp)
	if err != nil {
		fmt.Fprintln(stderr, "card read:", err)
		return 2
	}
	ts, err := identity.LoadTrust(*trustDir)
	if err != nil {
		fmt.Fprintln(stderr, "card read:", err)
		return 1
	}
	name, err := pickReader(ctx, *reader)
	if err != nil {
		fmt.Fprintln(stderr, "card read:", err)
		return 1
	}
	v, err := identity.ReadCard(ctx, identity.ReadRequest{Reader: name, Keys: keys, QR: q, Trust: ts, Timeout: *timeout})
	if err != nil {
		fmt.Fprintln(stderr, "card read:", err)
		return 1
	}
	if *photo != "" && len(v.PhotoJPEG) > 0 {
		if err := os.WriteFile(*photo, v.PhotoJPEG, 0o600); err != nil {
			fmt.Fprintln(stderr, "card read: save photo:", err)
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
	} else {
		printVerification(stdout, v, *photo)
	}
	if v.Access == nil || v.Access.Method == "" {
		return 1 // the chip was not opened or not read
	}
	return 0
}

// pickReader finds the reader named (a part of) name, or the only one holding a card.
func pickReader(ctx context.Context, name string) (string, error) {
	readers, err := pcsc.ListReaders(ctx)
	if err != nil {
		return "", err
	}
	var match []string
	for _, r := range readers {
		if name == r.Name {
			return r.Name, nil
		}
		if (name != "" && strings.Contains(r.Name, name)) || (name == "" && r.CardPresent) {
			match = append(match, r.Name)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(readers) == 0:
		return "", fmt.Errorf("no card reader attached: %w", pcsc.ErrNoReader)
	case name == "" && len(match) == 0:
		return "", fmt.Errorf("no reader holds a card: %w", pcsc.ErrNoCard)
	case len(match) == 0:
		return "", fmt.Errorf("no reader named %q: %w", name, pcsc.ErrNoReader)
	}
	return "", fmt.Errorf("several readers match (%s); name one with --reader", strings.Join(match, "; "))
}

func printVerification(w io.Writer, v *identity.Verification, photoFile string) {
	fmt.Fprintf(w, "reader:        %s\n", v.Reader)
	if v.Access != nil {
		for _, a := range v.Access.Attempts {
			if a.Error != "" {
				fmt.Fprintf(w, "access tried:  %s with key %d (%s): %s\n", a.Method, a.KeyIndex, a.KeyLabel, a.Error)
			}
		}
		if v.Access.Method != "" {
			fmt.Fprintf(w, "access:        %s with key %d (%s)\n", v.Access.Method, v.Access.KeyIndex, v.Access.KeyLabel)
		}
	}
	if v.Error != "" {
		fmt.Fprintf(w, "error:         %s\n", v.Error)
	}
	if h := v.Holder; h != nil {
		fmt.Fprintln(w, "holder:")
		for _, f := range []struct{ k, v string }{
			{"ID", h.ID}, {"name", h.Name}, {"name (MRZ)", h.NameMRZ}, {"birth", h.Birth}, {"sex", h.Sex},
			{"nationality", h.Nationality}, {"ethnicity", h.Ethnicity}, {"religion", h.Religion}, {"origin", h.Origin},
			{"residence", h.Residence}, {"marks", h.Marks}, {"issued", h.Issued}, {"expiry", h.Expiry},
			{"father", h.Father}, {"mother", h.Mother}, {"spouse", h.Spouse}, {"old CMND", h.OldID},
			{"document no.", h.DocumentNumber}, {"MRZ birth", h.MRZBirth}, {"MRZ expiry", h.MRZExpiry},
		} {
			if f.v != "" {
				fmt.Fprintf(w, "  %-13s %s\n", f.k+":", f.v)
			}
		}
	}
	if p := v.Photo; p != nil {
		fmt.Fprintf(w, "photo:         %s %dx%d, %d bytes", p.Format, p.Width, p.Height, p.Bytes)
		if photoFile != "" {
			fmt.Fprintf(w, " (saved to %s)", photoFile)
		}
		fmt.Fprintln(w)
	}
	if v.Access != nil && v.Access.Method != "" {
		c := v.Checks
		fmt.Fprintln(w, "checks:")
		var dgs []string
		for dg := range c.DataGroupHashes {
			dgs = append(dgs, dg)
		}
		sort.Slice(dgs, func(i, j int) bool { return len(dgs[i]) < len(dgs[j]) || len(dgs[i]) == len(dgs[j]) && dgs[i] < dgs[j] })
		for _, dg := range dgs {
			fmt.Fprintf(w, "  %-24s %s\n", dg+" hash vs SOD:", c.DataGroupHashes[dg])
		}
		fact := func(name string, ch emrtd.Check) {
			fmt.Fprintf(w, "  %-24s %s", name+":", ch.Status)
			if ch.Detail != "" {
				fmt.Fprintf(w, " (%s)", ch.Detail)
			}
			fmt.Fprintln(w)
		}
		fact("SOD signature", c.Signature)
		fmt.Fprintf(w, "  %-24s %s", "chain to trust store:", c.Chain)
		if c.ChainDetail != "" {
			fmt.Fprintf(w, " (%s)", c.ChainDetail)
		}
		fmt.Fprintln(w)
		fact("active authentication", c.ActiveAuth)
		fact("chip authentication", c.ChipAuth)
		fact("DG13 (Vietnamese data)", c.DG13)
		fact("QR vs chip", c.QR)
	}
	fmt.Fprintf(w, "outcome:       %s", v.Outcome)
	if v.Reason != "" {
		fmt.Fprintf(w, " (%s)", v.Reason)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "timing:        %s, %d APDUs, %d bytes sent, %d received\n", v.Elapsed.Round(time.Millisecond), v.APDUs, v.BytesSent, v.BytesReceived)
	for _, t := range v.Timings {
		fmt.Fprintf(w, "  %-13s %s\n", t.Step+":", t.Duration.Round(100*time.Microsecond))
	}
}

// TrustImport is the `trust import FILE` command.
func TrustImport(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: trust import FILE   (a CSCA certificate, DER or PEM, or an ICAO master list)")
		return 2
	}
	n, err := identity.ImportTrust(dir, args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d CSCA certificate(s) into %s\n", n, dir)
	return 0
}
