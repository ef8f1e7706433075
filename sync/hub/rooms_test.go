package hub

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The hub's rooms depend one way: the storage at the bottom imports no other room,
// the totals and federation only the storage (not each other), the web face the
// storage's and the totals' shapes (it reads the hub through its own interface), and
// the hub package, which wires them, all of them. Only the web face draws pages, charts
// and spreadsheets, and every room says in its doc comment what it owns.
func TestRoomsDependOneWay(t *testing.T) {
	const root = "motcua-agent/sync/hub"
	// Each room and the rooms it may use, directly or not.
	mayUse := map[string][]string{
		root + "/store":      {},
		root + "/totals":     {root + "/store"},
		root + "/federation": {root + "/store"},
		root + "/web":        {root + "/store", root + "/totals"},
		root:                 {root + "/store", root + "/totals", root + "/federation", root + "/web"},
	}
	// Only the web face imports these.
	webOnly := []string{"html/template", "motcua-agent/internal/xlsx", "motcua-agent/internal/chart", "embed"}
	webFace := []string{root + "/web"}

	cmd := exec.Command("go", "list", "-json=ImportPath,Doc,Imports,Deps", root+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for {
		var p struct {
			ImportPath, Doc string
			Imports, Deps   []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen[p.ImportPath] = true
		allowed, known := mayUse[p.ImportPath]
		if !known {
			t.Errorf("%s: a room this test does not know: add it to mayUse", p.ImportPath)
			continue
		}
		if p.Doc == "" {
			t.Errorf("%s has no doc comment saying what it owns", p.ImportPath)
		}
		for _, d := range p.Deps {
			if (d == root || strings.HasPrefix(d, root+"/")) && !slices.Contains(allowed, d) {
				t.Errorf("%s uses %s: the rooms depend one way (it may use %v)", p.ImportPath, d, allowed)
			}
		}
		for _, imp := range p.Imports {
			if slices.Contains(webOnly, imp) && !slices.Contains(webFace, p.ImportPath) {
				t.Errorf("%s imports %s: only the web face (%v) draws pages and spreadsheets", p.ImportPath, imp, webFace)
			}
		}
	}
	for room := range mayUse {
		if !seen[room] {
			t.Errorf("go list did not list %s", room)
		}
	}
}
