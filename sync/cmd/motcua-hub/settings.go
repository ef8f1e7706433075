package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"motcua-agent/sync/hub"
)

// defaultSettingsPath is where the Debian package puts the hub's settings.
const defaultSettingsPath = "/etc/motcua-hub/hub.yaml"

// settings are the hub's settings: the file's, with the command's flags over them.
// Relative paths in the file are relative to the file's folder.
type settings struct {
	Listen          string   `yaml:"listen"`
	DB              string   `yaml:"db"`
	DBPasswordFile  string   `yaml:"db_password_file"`
	KeyFile         string   `yaml:"key_file"`
	TLSCert         string   `yaml:"tls_cert"`
	TLSKey          string   `yaml:"tls_key"`
	ReportTokenFile string   `yaml:"report_token_file"`
	OpenFleet       bool     `yaml:"open_fleet"`
	StaleAfter      duration `yaml:"stale_after"`
	Catalogue       string   `yaml:"catalogue"`
	Upstream        string   `yaml:"upstream"`
	// Releases is the folder of the province's signed releases on this hub (hub.key and
	// repository/, from `motcua-hub release`): served read-only under /releases/ and
	// re-signed every hour, so the agents' metadata never expires while the hub runs.
	Releases string `yaml:"releases"`
}

// duration is a time.Duration written as "72h" in the file.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 72h)", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}

// flags binds a command's flags to settings; after Parse, load gives the merged result.
type flags struct {
	fs     *flag.FlagSet
	config *string
	given  settings
	// apply copies a given flag's value over the file's, by flag name.
	apply map[string]func(s *settings)
}

// newFlags makes the flag set of command name with the settings flags listed in
// which (every command has --config and --db and --key-file).
func newFlags(name string, stderr io.Writer, which ...string) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError), apply: map[string]func(*settings){}}
	f.fs.SetOutput(stderr)
	f.config = f.fs.String("config", "", "the settings file (default $MOTCUA_HUB_CONFIG, else "+defaultSettingsPath+" when it exists; \"none\" for no file)")
	str := func(flagName, usage string, field func(*settings) *string) {
		f.fs.StringVar(field(&f.given), flagName, "", usage)
		f.apply[flagName] = func(s *settings) { *field(s) = *field(&f.given) }
	}
	str("db", "the database: a SQLite file, or postgres://user@host/dbname (the password from db_password_file or ~/.pgpass, never the command line); default hub.db, or $MOTCUA_HUB_DB",
		func(s *settings) *string { return &s.DB })
	str("key-file", "the key that seals device secrets (default DB.key beside a SQLite file; required with PostgreSQL: the same file on every hub)",
		func(s *settings) *string { return &s.KeyFile })
	for _, w := range which {
		switch w {
		case "listen":
			str("listen", "address to listen on (default 127.0.0.1:8607)", func(s *settings) *string { return &s.Listen })
		case "tls":
			str("tls-cert", "TLS certificate (PEM); plain HTTP without it", func(s *settings) *string { return &s.TLSCert })
			str("tls-key", "TLS private key (PEM)", func(s *settings) *string { return &s.TLSKey })
		case "report":
			str("report-token-file", "file holding the token that the page, reports and fleet require (or $MOTCUA_HUB_REPORT_TOKEN)",
				func(s *settings) *string { return &s.ReportTokenFile })
			f.fs.BoolVar(&f.given.OpenFleet, "open-fleet", false, "show the fleet (device names, versions, states) without a report token")
			f.apply["open-fleet"] = func(s *settings) { s.OpenFleet = f.given.OpenFleet }
			f.fs.Func("stale-after", "how long a site may send nothing before the page flags it (default 72h)", func(v string) error {
				d, err := time.ParseDuration(v)
				f.given.StaleAfter = duration(d)
				return err
			})
			f.apply["stale-after"] = func(s *settings) { s.StaleAfter = f.given.StaleAfter }
			str("catalogue", "CSV of essential services (no,code,name,level); the 25 of the monthly report by default",
				func(s *settings) *string { return &s.Catalogue })
			str("upstream", "push this hub's totals to a national hub: `FILE` holds the lines \"motcua-hub enroll\" printed there",
				func(s *settings) *string { return &s.Upstream })
			str("releases", "serve the signed releases of `DIR` (hub.key and repository/) under /releases/, re-signed hourly",
				func(s *settings) *string { return &s.Releases })
		}
	}
	return f
}

// parse parses args, refusing words that are not flags, and returns the settings.
func (f *flags) parse(args []string) (settings, error) {
	if err := f.fs.Parse(args); err != nil {
		return settings{}, errUsage
	}
	if f.fs.NArg() > 0 {
		return settings{}, fmt.Errorf("unexpected %q: this command takes only flags (see 'motcua-hub help %s')", f.fs.Arg(0), strings.Fields(f.fs.Name())[0])
	}
	s, err := loadSettings(*f.config)
	if err != nil {
		return settings{}, err
	}
	f.fs.Visit(func(fl *flag.Flag) {
		if a := f.apply[fl.Name]; a != nil {
			a(&s)
		}
	})
	return s, nil
}

// errUsage: the flag package has already said what is wrong.
var errUsage = errors.New("usage")

// loadSettings reads the settings file: path, else $MOTCUA_HUB_CONFIG, else the
// default path when it exists. Unknown keys are refused: a misspelt setting would
// otherwise be silently ignored.
func loadSettings(path string) (settings, error) {
	explicit := path != ""
	if !explicit {
		path = os.Getenv("MOTCUA_HUB_CONFIG")
		explicit = path != ""
	}
	if path == "none" {
		return settings{}, nil
	}
	if path == "" {
		path = defaultSettingsPath
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return settings{}, nil
	}
	if err != nil {
		return settings{}, fmt.Errorf("settings: %w", err)
	}
	var s settings
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return settings{}, fmt.Errorf("settings %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&s.DBPasswordFile, &s.KeyFile, &s.TLSCert, &s.TLSKey, &s.ReportTokenFile, &s.Catalogue, &s.Upstream, &s.Releases} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if s.DB != "" && !hub.IsPostgres(s.DB) && !filepath.IsAbs(s.DB) {
		s.DB = filepath.Join(dir, s.DB)
	}
	return s, nil
}

// database is the database to open: the setting, else $MOTCUA_HUB_DB, else hub.db;
// a PostgreSQL URL gets its password from db_password_file.
func (s settings) database() (string, error) {
	db := s.DB
	if db == "" {
		db = os.Getenv("MOTCUA_HUB_DB")
	}
	if db == "" {
		db = "hub.db"
	}
	if s.DBPasswordFile == "" {
		return db, nil
	}
	if !hub.IsPostgres(db) {
		return "", errors.New("db_password_file is for a postgres:// database")
	}
	pw, err := readSecret(s.DBPasswordFile)
	if err != nil {
		return "", fmt.Errorf("db_password_file: %w", err)
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", fmt.Errorf("db: not a URL: %s", hub.Redact(db))
	}
	name := "motcua"
	if u.User != nil {
		name = u.User.Username()
	}
	u.User = url.UserPassword(name, pw)
	return u.String(), nil
}

// reportToken is the token the page and reports require: from report_token_file,
// else $MOTCUA_HUB_REPORT_TOKEN; "" when neither is set.
func (s settings) reportToken() (string, error) {
	if s.ReportTokenFile != "" {
		t, err := readSecret(s.ReportTokenFile)
		if err != nil {
			return "", fmt.Errorf("report_token_file: %w", err)
		}
		if len(t) < 16 {
			return "", fmt.Errorf("report_token_file %s: the token has %d characters; use at least 16 (e.g. openssl rand -hex 16)", s.ReportTokenFile, len(t))
		}
		return t, nil
	}
	return os.Getenv("MOTCUA_HUB_REPORT_TOKEN"), nil
}

// readSecret reads a one-line secret file.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%s: want one line with the secret", path)
	}
	return v, nil
}

// isLoopback says whether addr (host:port) listens on this machine only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
