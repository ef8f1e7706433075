package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimal = `
site:
  province_code: "40"
  commune_code: "16681"
  id: site-1
  name: UBND phường Vinh Phú
  device_id: pc-1
`

func parse(t *testing.T, text string) (*Config, *Problems) {
	t.Helper()
	c, err := Parse([]byte(text), "/etc/motcua/site.yaml", Overrides{})
	if err == nil {
		return c, nil
	}
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("error is not *Problems: %v", err)
	}
	return nil, p
}

func TestDefaults(t *testing.T) {
	c, p := parse(t, minimal)
	if p != nil {
		t.Fatal(p)
	}
	checks := map[string][2]string{
		"profile":     {c.Profile, "counter"},
		"timezone":    {c.Timezone, "Asia/Ho_Chi_Minh"},
		"listen":      {c.HTTP.Listen, "127.0.0.1:8606"},
		"public_url":  {c.HTTP.PublicURL, "http://127.0.0.1:8606"},
		"data_dir":    {c.DataDir, DefaultDataDir()},
		"secret_file": {c.Privacy.SecretFile, filepath.Join(DefaultDataDir(), "secret", "id-hmac.key")},
		"log.level":   {c.Log.Level, "info"},
	}
	for name, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", name, v[0], v[1])
		}
	}
	if c.Privacy.RetentionDays != 180 {
		t.Errorf("retention = %d", c.Privacy.RetentionDays)
	}
	if c.Location().String() != "Asia/Ho_Chi_Minh" && c.Location().String() != "ICT" {
		t.Errorf("location %v", c.Location())
	}
}

func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	t.Parallel()
	c, p := parse(t, minimal+"data_dir: data\n")
	if p != nil {
		t.Fatal(p)
	}
	if c.DataDir != "/etc/motcua/data" {
		t.Errorf("data_dir = %q, want it beside the config file", c.DataDir)
	}
}

func TestOverridesWin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := Parse([]byte(minimal), filepath.Join(dir, "s.yaml"), Overrides{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != dir || c.HTTP.Listen != "127.0.0.1:0" || !strings.HasPrefix(c.Privacy.SecretFile, dir) {
		t.Errorf("overrides not applied: %q %q %q", c.DataDir, c.HTTP.Listen, c.Privacy.SecretFile)
	}
}

func TestValidationRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml, path, msg string
	}{
		{"unknown top key", minimal + "colour: red\n", "colour", "unknown key"},
		{"unknown nested key", minimal + "http:\n  listn: 1.2.3.4:1\n", "http.listn", "unknown key"},
		{"profile", minimal + "profile: office\n", "profile", "must be one of"},
		{"province", strings.Replace(minimal, `"40"`, `"4"`, 1), "site.province_code", "2-digit"},
		{"commune", strings.Replace(minimal, `"16681"`, `"1668"`, 1), "site.commune_code", "5-digit"},
		{"district", minimal + "  former_district_code: \"41\"\n", "site.former_district_code", "3 digits"},
		{"site id", strings.Replace(minimal, "id: site-1", "id: \"bad id\"", 1), "site.id", "letters"},
		{"device id", strings.Replace(minimal, "device_id: pc-1", "device_id: \"\"", 1), "site.device_id", "required"},
		{"site name", strings.Replace(minimal, "name: UBND phường Vinh Phú", "name: \"\"", 1), "site.name", "required"},
		{"timezone", minimal + "timezone: Mars/Olympus\n", "timezone", "unknown time zone"},
		{"listen", minimal + "http:\n  listen: localhost\n", "http.listen", "host:port"},
		{"listen host", minimal + "http:\n  listen: example.com:80\n", "http.listen", "IP address"},
		{"origin", minimal + "http:\n  allowed_origins: [\"https://a.vn/path\"]\n", "http.allowed_origins[0]", "no path"},
		{"same token", minimal + "http:\n  tokens:\n    kiosk: shared-token-0123456789\n    admin: shared-token-0123456789\n", "http.tokens.admin", "same token as http.tokens.kiosk"},
		{"host", minimal + "http:\n  allowed_hosts: [\"quay1.local:8606\"]\n", "http.allowed_hosts[0]", "without scheme or port"},
		{"short token", minimal + "http:\n  tokens:\n    admin: abc\n", "http.tokens.admin", "too short"},
		{"role", minimal + "http:\n  personal_data_roles: [kiosk, boss]\n", "http.personal_data_roles[1]", "unknown role"},
		{"retention", minimal + "privacy:\n  retention_days: -1\n", "privacy.retention_days", "between"},
		{"log level", minimal + "log:\n  level: loud\n", "log.level", "debug, info"},
		{"wrong type", minimal + "privacy:\n  retention_days: many\n", "privacy.retention_days", "number"},
		{"bool type", minimal + "simulate: sometimes\n", "simulate", "true or false"},
		{"list expected", minimal + "http:\n  allowed_origins: https://a.vn\n", "http.allowed_origins", "list"},
		{"not yaml", "site: [\n", "(file)", "not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := parse(t, tc.yaml)
			if p == nil {
				t.Fatalf("accepted")
			}
			for _, q := range p.List {
				if q.Path == tc.path && strings.Contains(q.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got:\n%s", tc.path, tc.msg, p)
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	_, p := parse(t, "site:\n  id: x\nfoo: 1\nhttp:\n  listen: nope\n")
	if p == nil || len(p.List) < 2 {
		t.Fatalf("want several problems, got %v", p)
	}
}

func TestExamplesAreValid(t *testing.T) {
	t.Parallel()
	for _, prof := range []string{ProfileCounter, ProfileClinic, ProfileHospital, ProfileGate, ProfileDemo} {
		b, err := Example(prof)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(b, filepath.Join(t.TempDir(), prof+".yaml"), Overrides{})
		if err != nil {
			t.Errorf("example %s: %v", prof, err)
			continue
		}
		if c.Profile != prof {
			t.Errorf("example %s declares profile %s", prof, c.Profile)
		}
	}
}

func TestRedactedHidesTokens(t *testing.T) {
	t.Parallel()
	c, p := parse(t, minimal+"http:\n  tokens:\n    admin: a-very-secret-admin-token\n")
	if p != nil {
		t.Fatal(p)
	}
	out := string(c.Redacted().YAML())
	if strings.Contains(out, "a-very-secret-admin-token") {
		t.Fatal("token printed")
	}
	if c.HTTP.Tokens.Admin != "a-very-secret-admin-token" {
		t.Fatal("Redacted changed the original")
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), Overrides{})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}
