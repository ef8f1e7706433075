package vistyle

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// newStyle matches a syllable that ends in oa, oe or uy with the tone mark on its last
// vowel ("hoá", "xoà", "huỷ"): the traditional style // vistyle:ignore, which the national header of
// administrative documents uses ("CỘNG HÒA"), puts it on the first ("hóa", "hủy").
// After q the u belongs to the consonant, so "quý", "quả" are right as they are.
var newStyle = regexp.MustCompile(`(?i)(^|[^\p{L}])(\p{L}*?[^q\P{L}]|)(o[áàảãạéèẻẽẹ]|u[ýỳỷỹỵ])($|[^\p{L}])`) // vistyle:ignore

// roots are the folders and files people's text lives in; testdata (fictional
// people's names, which keep their own spelling) and build output are left out.
var skipDirs = map[string]bool{".git": true, "testdata": true, "demo-data": true, "bin": true, "dist": true, "node_modules": true}

var textExt = map[string]bool{".go": true, ".html": true, ".js": true, ".css": true, ".md": true, ".yaml": true, ".yml": true, ".sh": true, ".nsi": true, ".tsv": true, ".csv": true}

// TestOneVietnameseStyle walks the repository: no syllable in the new tone-mark style
// (a line that lists them on purpose says "vistyle:ignore"), and every file NFC-normalised, so a search,
// a comparison or a test of a page's text finds what a reader sees.
func TestOneVietnameseStyle(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !textExt[filepath.Ext(path)] {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		if !norm.NFC.IsNormal(b) {
			t.Errorf("%s: not NFC-normalised (a letter and its tone mark stored apart)", rel)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.Contains(line, "vistyle:"+"ignore") { // a line that names the words it forbids
				continue
			}
			for _, m := range newStyle.FindAllStringSubmatch(line, -1) {
				word := strings.TrimSpace(strings.Trim(m[0], " \t\"'`.,;:!?()[]{}<>/\\|*_-=+&#%@~^$"))
				t.Errorf("%s:%d: %q: write the tone mark on the first vowel (hóa, hòa, xóa, khóa, hủy, thủy, khỏe)", rel, n, word)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d files under %s: the walk missed the tree", files, root)
	}
}

// The rule itself: what it flags and what it leaves.
func TestNewStyleRule(t *testing.T) {
	for _, bad := range []string{"Xoá", "số hoá", "khoá học", "Huỷ số", "thuỷ", "khoẻ", "hoà bình", "HOÁ"} { // vistyle:ignore
		if !newStyle.MatchString(bad) {
			t.Errorf("%q not flagged", bad)
		}
	}
	for _, good := range []string{"Xóa", "số hóa", "khóa", "Hủy số", "thủy", "khỏe", "hòa bình", "quý", "quả", "hoàn thành", "khoán", "toán", "thuyết", "Hoàng", "xoay", "quầy", "huyện"} {
		if newStyle.MatchString(good) {
			t.Errorf("%q flagged", good)
		}
	}
}
