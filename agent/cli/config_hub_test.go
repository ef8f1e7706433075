package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"motcua-agent/config"
)

// `config check` shows what the agent runs: the hub's configuration over the site file
// while the file is as it was, the file alone once a technician edits it; `config
// use-hub` hands the edited file back, and refuses words it does not know.
func TestConfigCheckAndUseHub(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yaml")
	b, _ := config.Example("counter")
	b = append(b, []byte("data_dir: "+filepath.Join(dir, "data")+"\n")...)
	os.WriteFile(site, b, 0o644)
	if out, code := runBin(t, "config", "use-hub", "--config", site); code != 0 || !strings.Contains(out, "already applies") {
		t.Fatalf("use-hub with nothing applied: %d %s", code, out)
	}
	// As the agent leaves it once a hub configuration is committed (part_config.go).
	keep := filepath.Join(dir, "data", "hub-config")
	os.MkdirAll(keep, 0o700)
	os.WriteFile(filepath.Join(keep, "layer.yaml"), []byte("log:\n  level: warn\n"), 0o600)
	st, _ := json.Marshal(map[string]string{"version": "all@3+site@7", "local_sha256": config.Digest(b)})
	os.WriteFile(filepath.Join(keep, "state.json"), st, 0o600)

	out, code := runBin(t, "config", "check", site)
	if code != 0 || !strings.Contains(out, "with the hub's configuration all@3+site@7 over it") || !strings.Contains(out, "level: warn") {
		t.Fatalf("check with the hub's layer: %d %s", code, out)
	}
	os.WriteFile(site, append(b, []byte("# sửa tại máy\n")...), 0o644)
	out, code = runBin(t, "config", "check", site)
	if code != 0 || strings.Contains(out, "all@3") || !strings.Contains(out, "level: info") {
		t.Fatalf("check after a local edit: %d %s", code, out)
	}
	if out, code := runBin(t, "config", "use-hub", "--config", site, "now"); code != 2 {
		t.Fatalf("use-hub with an extra word: %d %s", code, out)
	}
	if out, code := runBin(t, "config", "use-hub", "--config", site); code != 0 || !strings.Contains(out, "all@3+site@7") {
		t.Fatalf("use-hub after the edit: %d %s", code, out)
	}
	if out, code := runBin(t, "config", "check", site); code != 0 || !strings.Contains(out, "all@3+site@7") {
		t.Fatalf("check after use-hub: %d %s", code, out)
	}
}
