package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"motcua-agent/agent/queue"
)

var staffCommands = []command{
	{Name: "staff", Summary: "the officers' staff key and the hashes of their ID numbers and PINs for the config",
		Usage: "staff key [--config FILE] [--out FILE] | staff hash [--config FILE] [--key FILE] [--pin --officer ID] (the number or PIN is read from stdin, never echoed)",
		Run:   cmdStaff},
}

func cmdStaff(ctx context.Context, args []string) int {
	if len(args) == 0 || (args[0] != "key" && args[0] != "hash") {
		fmt.Fprintln(os.Stderr, "usage: motcua-agent staff key [--config FILE] [--out FILE] | staff hash [--config FILE] [--key FILE] [--pin --officer ID]")
		return 2
	}
	fs := flag.NewFlagSet("staff "+args[0], flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, false)
	out := fs.String("out", "", "key file to write (default: the config's staff.key_file)")
	keyFile := fs.String("key", "", "staff key file (default: the config's staff.key_file)")
	pin := fs.Bool("pin", false, "hash a PIN (needs --officer) instead of an ID card number")
	officer := fs.String("officer", "", "the officer's id in staff.officers (for --pin)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	keyPath := func(flagValue string) (string, int) {
		if flagValue != "" {
			return flagValue, 0
		}
		if cf.path == "" {
			fmt.Fprintln(os.Stderr, "motcua-agent: give --config (its staff.key_file) or the key file itself")
			return "", 2
		}
		cfg, err := cf.load()
		if err != nil {
			return "", printConfigError(err)
		}
		return cfg.Staff.KeyFile, 0
	}
	if args[0] == "key" {
		path, rc := keyPath(*out)
		if rc != 0 {
			return rc
		}
		if err := writeStaffKey(path); err != nil {
			fmt.Fprintln(os.Stderr, "motcua-agent:", err)
			return 1
		}
		fmt.Printf("staff key written to %s: copy it beside the config on every PC of the site, and keep a copy with the config's backup\n", path)
		return 0
	}
	if *pin && *officer == "" {
		fmt.Fprintln(os.Stderr, "motcua-agent: --pin needs --officer ID (a PIN's hash is bound to its officer)")
		return 2
	}
	path, rc := keyPath(*keyFile)
	if rc != 0 {
		return rc
	}
	key, err := queue.LoadStaffKey(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	what := "the officer's ID card number (12 digits)"
	if *pin {
		what = "the officer's PIN"
	}
	secret, err := readSecret(os.Stdin, what)
	if err != nil {
		fmt.Fprintln(os.Stderr, "motcua-agent:", err)
		return 1
	}
	if *pin {
		if len(secret) < 4 || strings.Trim(secret, "0123456789") != "" {
			fmt.Fprintln(os.Stderr, "motcua-agent: a PIN is 4 or more digits")
			return 1
		}
		fmt.Println(key.PINHash(*officer, secret))
		return 0
	}
	digits := strings.Join(strings.Fields(secret), "")
	if len(digits) != 12 || strings.Trim(digits, "0123456789") != "" {
		fmt.Fprintln(os.Stderr, "motcua-agent: an ID card number is 12 digits")
		return 1
	}
	fmt.Println(key.IDHash(digits))
	return 0
}

// writeStaffKey makes a new key file (mode 0600); an existing one is never replaced,
// since every hash in the config was made with it.
func writeStaffKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: the hashes in the config were made with it; remove it first only to start the staff list again", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(queue.NewStaffKey() + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readSecret reads one line: from a terminal without echo (after a prompt on stderr),
// otherwise as piped in. The text is never printed.
func readSecret(in *os.File, what string) (string, error) {
	if term.IsTerminal(int(in.Fd())) {
		fmt.Fprintf(os.Stderr, "Type %s and press Enter (it is not shown): ", what)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(os.Stderr)
		return strings.TrimSpace(string(b)), err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if strings.TrimSpace(line) == "" {
		return "", fmt.Errorf("nothing on stdin: give %s", what)
	}
	return strings.TrimSpace(line), nil
}
