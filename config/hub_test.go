package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The merge rule, case by case: mappings merge key by key, lists and scalars replace
// whole, a null removes, and composing layers keeps the null for the site file.
func TestMergeLayer(t *testing.T) {
	for _, c := range []struct {
		name, local, layer, want string
	}{
		{"scalar replaced", "log:\n  level: info\n  format: text\n", "log:\n  level: debug\n", "log:\n  level: debug\n  format: text\n"},
		{"new section added", "log:\n  level: info\n", "sync:\n  interval: 2m\n", "log:\n  level: info\nsync:\n  interval: 2m\n"},
		{"list replaced whole", "http:\n  allowed_hosts: [a, b, c]\n", "http:\n  allowed_hosts: [d]\n", "http:\n  allowed_hosts: [d]\n"},
		{"null removes", "sync:\n  url: http://x\n  interval: 1m\n", "sync:\n  interval: null\n", "sync:\n  url: http://x\n"},
		{"null in a new section dropped", "log:\n  level: info\n", "sync:\n  interval: ~\n  timeout: 5s\n", "log:\n  level: info\nsync:\n  timeout: 5s\n"},
		{"mapping over scalar", "queue: 1\n", "queue:\n  a: 1\n", "queue:\n  a: 1\n"},
		{"empty local", "", "log:\n  level: warn\n", "log:\n  level: warn\n"},
		{"deep", "a:\n  b:\n    c: 1\n    d: 2\n", "a:\n  b:\n    d: 3\n", "a:\n  b:\n    c: 1\n    d: 3\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := MergeLayer([]byte(c.local), []byte(c.layer))
			if err != nil {
				t.Fatal(err)
			}
			if !sameYAML(t, got, []byte(c.want)) {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	composed, err := ComposeLayers([]byte("sync:\n  interval: 2m\n  timeout: 9s\n"), []byte("sync:\n  interval: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := MergeLayer([]byte("sync:\n  interval: 5m\n  url: http://x\n"), composed)
	if err != nil {
		t.Fatal(err)
	}
	if !sameYAML(t, got, []byte("sync:\n  url: http://x\n  timeout: 9s\n")) {
		t.Fatalf("a site layer's null did not reach the site file:\n%s", got)
	}
}

func sameYAML(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := yaml.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := yaml.Marshal(x)
	ya, _ := yaml.Marshal(y)
	return string(xa) == string(ya)
}

func TestCheckLayerRefuses(t *testing.T) {
	for _, c := range []struct{ layer, want string }{
		{"", "empty"},
		{"- a\n- b\n", "mapping"},
		{"servcies: []\n", "unknown section"},
		{"site:\n  device_id: x\n", "site.device_id"},
		{"data_dir: /tmp\n", "data_dir"},
		{"privacy:\n  secret_file: /tmp/k\n", "privacy.secret_file"},
		{"log: &a\n  level: info\nhttp: *a\n", "anchors"},
		{"log:\n  <<: {level: info}\n", "merge keys"},
		{"log: [\n", "not valid YAML"},
		{"log:\n  level: " + strings.Repeat("x", MaxLayerBytes) + "\n", "more than"},
	} {
		if _, err := CheckLayer([]byte(c.layer)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckLayer(%.30q) = %v, want an error about %q", c.layer, err, c.want)
		}
	}
	if s, err := CheckLayer([]byte("sync:\n  interval: 2m\nlog:\n  level: warn\nsite:\n  name: Phường Vinh Hưng\n")); err != nil || strings.Join(s, ",") != "log,site,sync" {
		t.Fatalf("a fine layer: %v %v", s, err)
	}
}

// The hub's layer over the demo file goes through Parse: a good one applies, a bad one
// is refused with the field's path, as `config check` says it.
func TestParseLayered(t *testing.T) {
	local, err := Example(ProfileDemo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := ParseLayered(local, dir+"/demo.yaml", []byte("log:\n  level: warn\n"), "all@1", Overrides{DataDir: dir})
	if err != nil || c.Log.Level != "warn" || c.HubVersion() != "all@1" {
		t.Fatalf("good layer: %v %+v", err, c)
	}
	_, err = ParseLayered(local, dir+"/demo.yaml", []byte("log:\n  level: loud\n"), "all@2", Overrides{DataDir: dir})
	var p *Problems
	if !asProblems(err, &p) || p.List[0].Path != "log.level" {
		t.Fatalf("bad layer: %v", err)
	}
}

func asProblems(err error, p **Problems) bool {
	q, ok := err.(*Problems)
	*p = q
	return ok && len(q.List) > 0
}

// Layers from outside (the hub's answer) never crash the merge, and what a checked
// layer merges into is YAML again.
func FuzzMergeLayer(f *testing.F) {
	f.Add([]byte("log:\n  level: info\n"), []byte("log:\n  level: debug\nsync: {interval: 2m}\n"))
	f.Add([]byte(""), []byte("a: null\n"))
	f.Add([]byte("a: [1, 2]\n"), []byte("a:\n  b: ~\n"))
	f.Fuzz(func(t *testing.T, local, layer []byte) {
		if len(local) > 4096 || len(layer) > 4096 {
			return
		}
		out, err := MergeLayer(local, layer)
		if err != nil {
			return
		}
		var v any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("merged text is not YAML: %v\n%s", err, out)
		}
		if _, err := ComposeLayers(layer, layer); err != nil {
			t.Fatalf("a layer that merges does not compose with itself: %v", err)
		}
	})
}
