package browsertest_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTestsImportIt: outside _test.go files only the Xvfb test helper imports the
// package, so no program carries a browser driver.
func TestOnlyTestsImportIt(t *testing.T) {
	root := filepath.Join("..", "..")
	allowed := filepath.Join("drivers", "keyboard", "xvfbtest")
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "motcua-agent/internal/browsertest" {
				rel, _ := filepath.Rel(root, filepath.Dir(path))
				if rel != allowed {
					t.Errorf("%s imports internal/browsertest; only tests and %s may", path, allowed)
				}
				found++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Errorf("the walk found no import of the package at all, not even %s's", allowed)
	}
}
