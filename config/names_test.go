package config

import (
	"path/filepath"
	"testing"
)

// The names a site gives its codes come from the config: services, counters with their
// place, clinic stations, gate lanes, wards, the catalogue's services, the site.
func TestNamesFromTheConfig(t *testing.T) {
	for _, p := range []string{ProfileDemo, ProfileClinic, ProfileGate} {
		b, err := Example(p)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		c, err := Parse(b, filepath.Join(dir, p+".yaml"), Overrides{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		n := c.Names()
		if n[NameSite][c.Site.ID] != c.Site.Name || n["service"]["13"] != "Đăng ký khai sinh" {
			t.Errorf("%s: site and catalogue names: %v %v", p, n[NameSite], n["service"]["13"])
		}
		switch p {
		case ProfileDemo:
			if n["service"]["A"] != "Chứng thực, hộ tịch" || n["counter"]["3"] != "Quầy 3 (Tầng 1, bên phải)" || n["station"]["quay-1"] != "Bàn tiếp đón (demo)" {
				t.Errorf("demo: %v %v %v", n["service"]["A"], n["counter"], n["station"])
			}
		case ProfileGate:
			for code, name := range n["lane"] {
				if name == "" || name == code {
					t.Errorf("gate lane %s named %q", code, name)
				}
			}
			if len(n["lane"]) == 0 {
				t.Errorf("gate: no lane named: %v", n)
			}
		}
	}
}
