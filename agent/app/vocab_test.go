package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"motcua-agent/config/vocab"
)

// Every counter a flow can write names its metric through config/vocab, so the
// dashboard and the hub can label it: a `Metric:` field given as a string literal, or as
// a constant that is not a vocab name, fails here; the store refuses the rest at run time.
func TestEveryEmittedMetricIsInTheVocabulary(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	consts := map[string]ast.Expr{} // "pkgdir.Name" -> value
	var files []*ast.File
	dirs := map[*ast.File]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		dirs[f] = filepath.Base(filepath.Dir(path))
		for _, decl := range f.Decls {
			if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							consts[dirs[f]+"."+n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(pkg string, e ast.Expr) ast.Expr {
		for range 4 {
			switch x := e.(type) {
			case *ast.Ident:
				if v, ok := consts[pkg+"."+x.Name]; ok {
					e = v
					continue
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name != "vocab" {
					if v, ok := consts[id.Name+"."+x.Sel.Name]; ok {
						pkg, e = id.Name, v
						continue
					}
				}
			}
			return e
		}
		return e
	}
	checked := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Metric" {
				return true
			}
			pos := fset.Position(kv.Pos())
			switch v := resolve(dirs[f], kv.Value).(type) {
			case *ast.BasicLit:
				name, _ := strconv.Unquote(v.Value)
				t.Errorf("%s: metric %q written as a literal; name it in config/vocab", pos, name)
			case *ast.SelectorExpr:
				if id, ok := v.X.(*ast.Ident); ok && id.Name == "vocab" {
					checked++
					return true
				}
				// A field copied from a row or event (r.Metric): not a new name.
			case *ast.Ident:
				// A variable holding one of the flow's vocab constants (chosen at run
				// time); the store checks those.
			default:
				t.Errorf("%s: metric given as %T", pos, v)
			}
			return true
		})
	}
	if checked < 15 {
		t.Fatalf("found only %d metric uses; the walk missed the flows", checked)
	}
	for _, d := range vocab.Metrics() {
		if d.Label == "" || d.Label == d.Name {
			t.Errorf("metric %s has no Vietnamese label", d.Name)
		}
	}
}
