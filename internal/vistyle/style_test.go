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

// ticketWord matches "vé" standing alone. A queue's paper is a "phiếu" (phiếu số thứ (vistyle:ignore)
// tự) and its number a "số thứ tự", as the guide says; "vé" is kept for what a (vistyle:ignore)
// tourist site sells and checks at its gate (vé điện tử, vé tham quan, cổng soát vé).
var ticketWord = regexp.MustCompile(`(?i)(^|[^\p{L}])(soát |)vé( điện tử| tham quan| vào cổng|)($|[^\p{L}])`) // vistyle:ignore

// queueTicket reports a "vé" that names a queue's ticket: any but the gate's phrases. (vistyle:ignore)
func queueTicket(line string) bool {
	for _, m := range ticketWord.FindAllStringSubmatch(line, -1) {
		if m[2] == "" && m[3] == "" {
			return true
		}
	}
	return false
}

// TestOneVietnameseStyle walks the repository: no syllable in the new tone-mark style
// (a line that lists them on purpose says "vistyle:ignore"), no queue ticket called
// "vé", and every file NFC-normalised, so a search, a comparison or a test of a page's (vistyle:ignore)
// text finds what a reader sees.
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
			if queueTicket(line) {
				t.Errorf("%s:%d: a queue's ticket is a \"phiếu\" and its number a \"số thứ tự\"; \"vé\" only for a gate's (vé điện tử, vé tham quan, soát vé): %s", rel, n, strings.TrimSpace(line)) // vistyle:ignore
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

// The ticket rule: a queue's "vé" flagged, a gate's left. (vistyle:ignore)
func TestTicketWordRule(t *testing.T) {
	for _, bad := range []string{"Vé ưu tiên", "Máy in vé", "nhận vé in bên dưới", "số vé đã phát"} { // vistyle:ignore
		if !queueTicket(bad) {
			t.Errorf("%q not flagged", bad)
		}
	}
	for _, good := range []string{"Phiếu số thứ tự", "vé điện tử", "cổng soát vé của điểm tham quan", "Vé tham quan", "về quầy", "véc-tơ"} {
		if queueTicket(good) {
			t.Errorf("%q flagged", good)
		}
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
