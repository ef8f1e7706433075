// Package config is the agent's whole configuration schema: its defaults, its loading
// from YAML and its validation. Every problem is reported with the field's path
// ("http.listen: …") so a technician can fix a site file without reading code.
//
// It must never touch devices, the network or the store: it only describes them.
package config

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Profiles name the kind of place the agent serves; they choose sensible defaults in the
// examples but share one schema.
const (
	ProfileCounter = "counter"
	ProfileClinic  = "clinic"
	ProfileGate    = "gate"
	ProfileDemo    = "demo"
	// ProfileHospital is a hospital ward's desk: the night's lodging list (lodging:).
	ProfileHospital = "hospital"
)

// Config is the whole YAML file.
type Config struct {
	Profile  string  `yaml:"profile"`
	Site     Site    `yaml:"site"`
	Timezone string  `yaml:"timezone"`
	DataDir  string  `yaml:"data_dir"`
	Log      Log     `yaml:"log"`
	HTTP     HTTP    `yaml:"http"`
	Privacy  Privacy `yaml:"privacy"`
	// Simulate starts the built-in simulators for the configured devices (virtual card,
	// scanner and printer on pseudo-terminals): the demo, and a way to try a site file
	// without hardware.
	Simulate bool `yaml:"simulate"`

	Card     Card      `yaml:"card"`
	Scanners []Scanner `yaml:"scanners"`
	Dossier  Dossier   `yaml:"dossier"`
	Queue    Queue     `yaml:"queue"`
	Printer  Printer   `yaml:"printer"`
	Display  Display   `yaml:"display"`
	Sync     Sync      `yaml:"sync"`
	Gate     Gate      `yaml:"gate"`
	Clinic   Clinic    `yaml:"clinic"`
	Lodging  Lodging   `yaml:"lodging"`
	Update   Update    `yaml:"update"`
	Staff    Staff     `yaml:"staff"`

	// hubVersion names the hub's layer laid over the file (ParseLayered), "" if none.
	hubVersion string
	// path is the file the config came from ("" for the embedded demo); relative paths
	// in the file are resolved against its folder, never the working directory.
	path string
}

// Site says where the agent is. Since 1 July 2025 local government has two tiers,
// province and commune; the codes are those of the administrative units in force.
type Site struct {
	ProvinceCode string `yaml:"province_code" json:"province_code"`
	CommuneCode  string `yaml:"commune_code" json:"commune_code"`
	// FormerDistrictCode is kept for historical data only (districts were abolished).
	FormerDistrictCode string `yaml:"former_district_code,omitempty" json:"former_district_code,omitempty"`
	ID                 string `yaml:"id" json:"id"`
	Name               string `yaml:"name" json:"name"`
	DeviceID           string `yaml:"device_id" json:"device_id"`
}

// Log chooses the log level and format (logs are English and carry no personal data).
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// HTTP is the local API and pages.
type HTTP struct {
	Listen string `yaml:"listen"`
	// PublicURL is how other devices on the site reach the agent (the QR on a ticket
	// points there); default http://<listen>.
	PublicURL string `yaml:"public_url"`
	// Tokens per role; an empty token is generated on first run and kept in the data
	// folder (tokens/<role>, mode 0600).
	Tokens Tokens `yaml:"tokens"`
	// AllowedOrigins lists the browser origins of local applications (the one-stop web
	// app, a clinic's HIS) that may call the API; other origins are refused.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// PersonalDataRoles may receive personal fields (name, ID) in the event stream.
	PersonalDataRoles []string `yaml:"personal_data_roles"`
	// AllowedHosts are the host names (without port) the agent answers to in a
	// request's Host header, besides loopback and this machine's own IP addresses: a
	// web page that rebinds its own name to the agent's address is refused.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// OfficeDevices are the addresses (192.168.1.21) or networks (192.168.1.16/28) of
	// the office's own kiosks, boards and tablets. With this PC itself they keep a share
	// of the connections that no other machine can take, so a flood from elsewhere on
	// the LAN never locks them out.
	OfficeDevices []string `yaml:"office_devices"`
}

// ParseClientAddress reads one http.office_devices entry: an IP address or a network
// in CIDR form.
func ParseClientAddress(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or a network such as 192.168.1.16/28 (got %q)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or a network such as 192.168.1.16/28 (got %q)", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Tokens are the bearer tokens of the roles.
type Tokens struct {
	Kiosk   string `yaml:"kiosk"`
	Counter string `yaml:"counter"`
	Display string `yaml:"display"`
	Admin   string `yaml:"admin"`
	// Rating is the role of the counters' rating tablets and keypads: it may only rate
	// a finished ticket and see which one a counter just finished.
	Rating string `yaml:"rating"`
}

// Privacy bounds what the store keeps.
type Privacy struct {
	// SecretFile holds the per-site key for the keyed hashes of ID numbers; created on
	// first run with mode 0600, kept outside the database.
	SecretFile string `yaml:"secret_file"`
	// RetentionDays is how long events are kept; daily counters are kept.
	RetentionDays int `yaml:"retention_days"`
}

//go:embed examples/*.yaml
var examples embed.FS

// Example returns the text of an example config by profile name.
func Example(profile string) ([]byte, error) {
	return examples.ReadFile("examples/" + profile + ".yaml")
}

// Overrides come from the command line and win over the file (so two agents can run
// side by side, and tests can use temporary folders and free ports).
type Overrides struct {
	DataDir string
	Listen  string
	// SyncURL and SyncSecretFile point the agent at a hub (`run --hub URL
	// --hub-secret-file F`): the demo pushes to a hub on the same machine this way.
	SyncURL        string
	SyncSecretFile string
}

// Demo returns the embedded demo config, its data folder resolved against dir.
func Demo(dir string, ov Overrides) (*Config, error) {
	b, err := Example(ProfileDemo)
	if err != nil {
		return nil, err
	}
	return Parse(b, filepath.Join(dir, "demo.yaml"), ov)
}

// Load reads, defaults and validates a config file.
func Load(path string, ov Overrides) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return Parse(b, abs, ov)
}

// Parse decodes YAML text, applies defaults and validates. path names where the text
// came from (it anchors relative paths). Every problem comes back at once as *Problems.
func Parse(text []byte, path string, ov Overrides) (*Config, error) {
	c := &Config{path: path}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Problems{List: []Problem{{Path: "(file)", Msg: "not valid YAML: " + err.Error()}}}
	}
	p := &Problems{}
	if root.Kind != 0 {
		checkNode(p, &root, c, "")
		if err := root.Decode(c); err != nil {
			// checkNode has named the fields; yaml's own message is the fallback.
			if len(p.List) == 0 {
				p.Add("(file)", "%v", err)
			}
			return nil, p
		}
	}
	if ov.DataDir != "" {
		abs, err := filepath.Abs(ov.DataDir)
		if err != nil {
			return nil, err
		}
		c.DataDir = abs
	}
	if ov.Listen != "" {
		c.HTTP.Listen = ov.Listen
	}
	if ov.SyncURL != "" || ov.SyncSecretFile != "" {
		abs, err := filepath.Abs(ov.SyncSecretFile)
		if err != nil {
			return nil, err
		}
		if ov.SyncSecretFile == "" {
			abs = ""
		}
		c.Sync.URL, c.Sync.Secret, c.Sync.SecretFile = ov.SyncURL, "", abs
	}
	c.setDefaults()
	c.validate(p)
	if len(p.List) > 0 {
		return nil, p
	}
	return c, nil
}

// Path is the file the config came from ("" for text parsed without one).
func (c *Config) Path() string { return c.path }

// Location is the site's time zone.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return fixedVietnam
	}
	return loc
}

// Vietnam has used UTC+7 without daylight saving since 1975; a machine without tzdata
// (a bare Windows PC) still gets the right local day.
var fixedVietnam = time.FixedZone("ICT", 7*3600)

// Resolve makes a path from the file absolute against the config's folder.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if c.path == "" {
		abs, _ := filepath.Abs(p)
		return abs
	}
	return filepath.Join(filepath.Dir(c.path), p)
}

// DefaultDataDir is where a service keeps its data on this OS.
func DefaultDataDir() string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return filepath.Join(pd, "motcua-agent")
	}
	return "/var/lib/motcua-agent"
}

func (c *Config) setDefaults() {
	if c.Profile == "" {
		c.Profile = ProfileCounter
	}
	if c.Timezone == "" {
		c.Timezone = "Asia/Ho_Chi_Minh"
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	c.DataDir = c.Resolve(c.DataDir)
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8606"
	}
	if c.HTTP.PublicURL == "" {
		c.HTTP.PublicURL = "http://" + c.HTTP.Listen
	}
	if c.HTTP.PersonalDataRoles == nil {
		c.HTTP.PersonalDataRoles = []string{"counter", "admin"}
	}
	if c.Privacy.SecretFile == "" {
		c.Privacy.SecretFile = filepath.Join(c.DataDir, "secret", "id-hmac.key")
	}
	c.Privacy.SecretFile = c.Resolve(c.Privacy.SecretFile)
	if c.Privacy.RetentionDays == 0 {
		c.Privacy.RetentionDays = 180
	}
	c.Card.setDefaults()
	for i := range c.Scanners {
		c.Scanners[i].setDefaults()
	}
	c.Dossier.setDefaults()
	c.Queue.setDefaults()
	c.Printer.setDefaults()
	c.Display.setDefaults()
	c.Sync.setDefaults()
	c.Update.setDefaults()
	c.Update.RootFile = c.Resolve(c.Update.RootFile)
	c.Gate.setDefaults()
	c.setClinicDefaults()
	c.setLodgingDefaults()
	c.Staff.setDefaults(c)
}

var (
	provinceRe = regexp.MustCompile(`^[0-9]{2}$`)
	communeRe  = regexp.MustCompile(`^[0-9]{5}$`)
	districtRe = regexp.MustCompile(`^[0-9]{3}$`)
	idRe       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

func (c *Config) validate(p *Problems) {
	switch c.Profile {
	case ProfileCounter, ProfileClinic, ProfileGate, ProfileDemo, ProfileHospital:
	default:
		p.Add("profile", "must be one of counter, clinic, hospital, gate, demo (got %q)", c.Profile)
	}
	if !provinceRe.MatchString(c.Site.ProvinceCode) {
		p.Add("site.province_code", "required: the 2-digit code of the province (e.g. \"01\" for Hà Nội)")
	}
	if !communeRe.MatchString(c.Site.CommuneCode) {
		p.Add("site.commune_code", "required: the 5-digit code of the commune or ward in force since 1 July 2025")
	}
	if c.Site.FormerDistrictCode != "" && !districtRe.MatchString(c.Site.FormerDistrictCode) {
		p.Add("site.former_district_code", "must be 3 digits (historical data only)")
	}
	if !idRe.MatchString(c.Site.ID) {
		p.Add("site.id", "required: letters, digits, '.', '_' or '-', at most 64 (it names the site upstream)")
	}
	if !idRe.MatchString(c.Site.DeviceID) {
		p.Add("site.device_id", "required: letters, digits, '.', '_' or '-', at most 64 (one per PC)")
	}
	if c.Site.Name == "" {
		p.Add("site.name", "required: the office name printed on tickets and pages")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil && c.Timezone != "Asia/Ho_Chi_Minh" {
		p.Add("timezone", "unknown time zone %q", c.Timezone)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.Add("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.Add("log.format", "must be text or json")
	}
	if err := checkHostPort(c.HTTP.Listen); err != nil {
		p.Add("http.listen", "%v", err)
	}
	for i, o := range c.HTTP.AllowedOrigins {
		if !originRe.MatchString(o) {
			p.Add(fmt.Sprintf("http.allowed_origins[%d]", i), "must be scheme://host[:port] with no path (got %q)", o)
		}
	}
	for i, r := range c.HTTP.PersonalDataRoles {
		switch {
		case r == "kiosk" || r == "display" || r == "rating":
			// A board or kiosk screen faces the waiting room: what it gets, everyone sees.
			p.Add(fmt.Sprintf("http.personal_data_roles[%d]", i), "role %q may not receive personal data: its screen faces the public (a board or kiosk would show a citizen's or patient's name, ID number, birth date and insurance card); only counter and admin may", r)
		case !validRole(r):
			p.Add(fmt.Sprintf("http.personal_data_roles[%d]", i), "unknown role %q (counter, admin)", r)
		}
	}
	for i, a := range c.HTTP.OfficeDevices {
		if _, err := ParseClientAddress(a); err != nil {
			p.Add(fmt.Sprintf("http.office_devices[%d]", i), "%v", err)
		}
	}
	roleOf := map[string]string{}
	for _, role := range []string{"kiosk", "counter", "display", "admin", "rating"} { // a fixed order: the same message each time
		tok := c.HTTP.Tokens.Map()[role]
		if tok != "" && len(tok) < 16 {
			p.Add("http.tokens."+role, "too short: use at least 16 characters, or leave it empty to have one generated")
		}
		if other, dup := roleOf[tok]; dup && tok != "" {
			p.Add("http.tokens."+role, "the same token as http.tokens.%s: each role needs its own token", other)
		}
		roleOf[tok] = role
	}
	for i, h := range c.HTTP.AllowedHosts {
		if !hostNameRe.MatchString(h) {
			p.Add(fmt.Sprintf("http.allowed_hosts[%d]", i), "must be a host name without scheme or port, e.g. quay1.ubnd.local (got %q)", h)
		}
	}
	if c.Privacy.RetentionDays < 1 || c.Privacy.RetentionDays > 3650 {
		p.Add("privacy.retention_days", "must be between 1 and 3650")
	}
	c.Card.validate(p, "card")
	for i := range c.Scanners {
		c.Scanners[i].validate(p, fmt.Sprintf("scanners[%d]", i))
	}
	c.Dossier.validate(p, "dossier")
	c.Queue.validate(p, "queue")
	c.Printer.validate(p, "printer")
	c.Display.validate(p, "display")
	c.Sync.validate(p, "sync")
	c.Update.validate(p, "update", &c.Sync)
	c.Gate.validate(p, "gate")
	c.Clinic.validate(p, "clinic")
	c.Lodging.validate(p, "lodging")
	c.Staff.validate(p, "staff")
}

var originRe = regexp.MustCompile(`^https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?$`)

func validRole(r string) bool {
	switch r {
	case "kiosk", "counter", "display", "admin":
		return true
	}
	return false
}

// hostNameRe is a DNS name or an IP literal, no port.
var hostNameRe = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$`)

// Map lists the tokens by role name.
func (t Tokens) Map() map[string]string {
	return map[string]string{"kiosk": t.Kiosk, "counter": t.Counter, "display": t.Display, "admin": t.Admin, "rating": t.Rating}
}

// Redacted returns a copy safe to print: tokens and secrets masked.
func (c *Config) Redacted() *Config {
	r := *c
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "********"
	}
	r.HTTP.Tokens = Tokens{Kiosk: mask(c.HTTP.Tokens.Kiosk), Counter: mask(c.HTTP.Tokens.Counter),
		Display: mask(c.HTTP.Tokens.Display), Admin: mask(c.HTTP.Tokens.Admin), Rating: mask(c.HTTP.Tokens.Rating)}
	r.Sync = c.Sync.redacted()
	return &r
}

// YAML renders the config (use Redacted first when printing).
func (c *Config) YAML() []byte {
	b, err := yaml.Marshal(c)
	if err != nil {
		return []byte("# cannot render: " + err.Error())
	}
	return b
}
