package qrimage

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The page corpus: what the dossier scan folder receives all day. A dense ID-card QR
// (versions 10–25) small on an A4 page with text around it, scanned at 150, 200 or
// 300 dpi in grey (JPEG) or bilevel, slightly rotated; and beyond what the peer
// decoders read: heavy blur, very small modules, strong perspective. Every image is
// made here from a spec (qrencode + ImageMagick), so the list of what each decoder
// reads, testdata/pages.tsv, can be checked against a fresh run.

var updatePages = flag.Bool("update-pages", false, "decode the whole page corpus with every decoder and rewrite testdata/pages.tsv")

// pageSpec is one generated page.
type pageSpec struct {
	Name, Class string
	DPI         int
	Version     int     // QR version the code must have
	Level       string  // error correction
	Module      float64 // pixels per module on the page
	Angle       float64 // degrees
	Bilevel     bool
	JPEG        int     // quality; 0 writes PNG
	Blur        float64 // Gaussian sigma applied to the page (scanner optics), pixels
	Perspective float64 // 0..0.3: how far one side of the code is shrunk
	Corner      string  // ImageMagick gravity of the code on the page
	Payload     string
}

// Fictional citizens in the card QR's real formats: the 2021 seven-field form and the
// 2024 form with the parents' names and more after the seventh field.
var pagePeople = []struct{ id, old, name, birth, sex, addr, issued, father, mother string }{
	{"001099012345", "123456789", "Nguyễn Văn Bình", "15031990", "Nam", "Số 1 Phố Huế, Phường Hai Bà Trưng, Thành phố Hà Nội", "20042021", "Nguyễn Văn Cường", "Lê Thị Dung"},
	{"040199000123", "", "Trần Thị Ánh Nguyệt", "01021999", "Nữ", "Xóm 3, Phường Hưng Dũng, Thành phố Vinh, Tỉnh Nghệ An", "05082024", "Trần Văn Cả", "Lê Thị Dần"},
	{"079303001122", "025123456", "Phạm Đức Hoàng Long", "29021988", "Nam", "Số 45 Đường Nguyễn Thị Minh Khai, Phường Bến Thành, Thành phố Hồ Chí Minh", "12112022", "Phạm Đức Thắng", "Võ Thị Hường"},
	{"046185004321", "", "Hoàng Thị Thu Hằng", "07071985", "Nữ", "Thôn Phú Lộc, Xã Lộc Điền, Huyện Phú Lộc, Tỉnh Thừa Thiên Huế", "18092024", "Hoàng Văn Khải", "Nguyễn Thị Lụa"},
}

// pagePayload gives a card QR payload; long adds the 2024 form's further fields.
func pagePayload(i int, long bool) string {
	p := pagePeople[i%len(pagePeople)]
	f := []string{p.id, p.old, p.name, p.birth, p.sex, p.addr, p.issued}
	if long {
		f = append(f, p.father, p.mother, "Kinh", "Không", p.addr)
	}
	return strings.Join(f, "|")
}

var a4Pixels = map[int][2]int{150: {1240, 1754}, 200: {1654, 2339}, 300: {2480, 3508}}

// pageSpecs lists the whole corpus in a fixed order.
func pageSpecs() []pageSpec {
	var out []pageSpec
	corners := []string{"NorthEast", "SouthWest", "NorthWest", "SouthEast"}
	levels := map[int]string{10: "M", 15: "M", 20: "Q", 25: "H"}
	n := 0
	for _, dpi := range []int{150, 200, 300} {
		for _, bilevel := range []bool{false, true} {
			mode := "grey"
			if bilevel {
				mode = "bilevel"
			}
			for _, v := range []int{10, 15, 20, 25} {
				for _, angle := range []float64{0, 1.5, -3} {
					// The code takes about a fifth of the page's width.
					w := float64(a4Pixels[dpi][0]) / 5
					s := pageSpec{Class: fmt.Sprintf("dense-%d-%s", dpi, mode), DPI: dpi, Version: v, Level: levels[v],
						Module: w / float64(17+4*v), Angle: angle, Bilevel: bilevel, Blur: 0.6,
						Corner: corners[n%len(corners)], Payload: pagePayload(n, v > 10)}
					if !bilevel || v%2 == 0 { // grey scans are JPEG; bilevel ones PNG or JPEG
						s.JPEG = 80
					}
					s.Name = fmt.Sprintf("%s-v%d-a%s", s.Class, v, strconv.FormatFloat(angle, 'f', -1, 64))
					out = append(out, s)
					n++
				}
			}
		}
	}
	// Beyond the peers.
	for _, v := range []int{10, 15, 20, 25} {
		for _, m := range []float64{3, 4} {
			out = append(out, pageSpec{Name: fmt.Sprintf("blur-v%d-m%g", v, m), Class: "blur-sigma2", DPI: 200, Version: v,
				Level: levels[v], Module: m, Blur: 2, JPEG: 85, Corner: corners[n%4], Payload: pagePayload(n, v > 10)})
			n++
		}
		for _, m := range []float64{1.4, 1.7} {
			out = append(out, pageSpec{Name: fmt.Sprintf("tiny-v%d-m%g", v, m), Class: "tiny", DPI: 300, Version: v,
				Level: levels[v], Module: m, Blur: 0.4, Corner: corners[n%4], Payload: pagePayload(n, v > 10)})
			n++
		}
		for _, p := range []float64{0.2, 0.3} {
			out = append(out, pageSpec{Name: fmt.Sprintf("perspective-v%d-p%g", v, p), Class: "perspective", DPI: 200, Version: v,
				Level: levels[v], Module: 4, Angle: 4, Perspective: p, Blur: 0.6, JPEG: 85, Corner: corners[n%4], Payload: pagePayload(n, v > 10)})
			n++
		}
	}
	return out
}

// pageText is what surrounds the code: a receipt's text, which also gives the finder
// pattern search false candidates, as real pages do.
const pageText = "ỦY BAN NHÂN DÂN XÃ ĐỨC THỌ\nBỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ\n\nGIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\n" +
	"Mã hồ sơ: H40.22-230701-0001\nNgười nộp: (xem mã QR)\nThành phần hồ sơ:\n1. Tờ khai đăng ký thường trú\n" +
	"2. Bản sao giấy khai sinh\n3. Thẻ căn cước (bản chụp hai mặt)\nNgày hẹn trả: 15/07/2024\nCán bộ tiếp nhận: ký, ghi rõ họ tên"

// makePage writes the page for s into dir and returns its path.
func makePage(tb testing.TB, im, dir string, s pageSpec) string {
	tb.Helper()
	if _, err := exec.LookPath("qrencode"); err != nil {
		tb.Skip("qrencode not installed (apt-get install qrencode)")
	}
	src := filepath.Join(dir, s.Name+".qr.png")
	run(tb, "qrencode", "-8", "-l", s.Level, "-v", strconv.Itoa(s.Version), "-m", "0", "-s", "1", "-o", src, s.Payload)
	if side := pngSide(tb, src); side != 17+4*s.Version {
		tb.Fatalf("%s: qrencode made a %d-module code, want version %d", s.Name, side, s.Version)
	}
	pw, ph := a4Pixels[s.DPI][0], a4Pixels[s.DPI][1]
	side := int(s.Module*float64(17+4*s.Version) + 0.5)
	quiet := int(4*s.Module + 0.5)
	// The code is drawn at ten pixels a module and resampled to its size on the page,
	// as a scanner's optics and sampling would (grey edges, not hard ones).
	code := []string{"(", src, "-scale", "1000%", "-filter", "Triangle", "-resize", fmt.Sprintf("%dx%d!", side, side),
		"-bordercolor", "white", "-border", strconv.Itoa(quiet)}
	if s.Perspective > 0 {
		d := float64(side + 2*quiet)
		k := s.Perspective * d
		code = append(code, "-virtual-pixel", "white", "+distort", "Perspective", fmt.Sprintf(
			"0,0 0,0  %g,0 %g,%g  0,%g 0,%g  %g,%g %g,%g", d, d-k, k/2, d, d, d, d, d-k, d-k/2))
	}
	if s.Angle != 0 {
		code = append(code, "-background", "white", "-rotate", strconv.FormatFloat(s.Angle, 'f', -1, 64))
	}
	code = append(code, ")")
	args := []string{"-size", fmt.Sprintf("%dx%d", pw, ph), "xc:white", "-fill", "black", "-pointsize", strconv.Itoa(ph / 90)}
	if font := pageFont(); font != "" {
		args = append(args, "-font", font)
	}
	args = append(args, "-annotate", fmt.Sprintf("+%d+%d", pw/12, ph/3), pageText,
		"-annotate", fmt.Sprintf("+%d+%d", pw/12, ph/8), "Số: 1234/TN-UBND        Đức Thọ, ngày 01 tháng 07 năm 2024")
	args = append(args, code...)
	args = append(args, "-gravity", s.Corner, "-geometry", fmt.Sprintf("+%d+%d", pw/16, ph/24), "-composite", "+gravity",
		"-blur", fmt.Sprintf("0x%g", s.Blur), "-colorspace", "Gray")
	ext := "png"
	if s.Bilevel {
		args = append(args, "-threshold", "55%")
	}
	if s.JPEG > 0 {
		ext = "jpg"
		args = append(args, "-quality", strconv.Itoa(s.JPEG))
	} else if s.Bilevel {
		args = append(args, "-type", "Bilevel")
	}
	dst := filepath.Join(dir, s.Name+"."+ext)
	run(tb, im, append(args, dst)...)
	return dst
}

var pageFontOnce = sync.OnceValue(func() string {
	for _, f := range []string{"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"} {
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
})

func pageFont() string { return pageFontOnce() }

func pngSide(tb testing.TB, path string) int {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg.Width
}

// pagesList is testdata/pages.tsv: per image, the decoders that read it.
type pagesList map[string][]string

const pagesFile = "testdata/pages.tsv"

// readList reads a list of what each decoder read (pages.tsv, scans.tsv).
func readList(tb testing.TB, file string) pagesList {
	f, err := os.Open(file)
	if err != nil {
		tb.Fatalf("%v (run go test ./drivers/qrimage/ -run 'Test(Page|Scan)Corpus$' -args -update-pages)", err)
	}
	defer f.Close()
	l := pagesList{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, readers, _ := strings.Cut(line, "\t")
		l[name] = strings.Fields(strings.ReplaceAll(readers, ",", " "))
		if readers == "-" {
			l[name] = []string{}
		}
	}
	return l
}

// pageResult is what each decoder read on one page.
type pageResult struct {
	spec    pageSpec
	readers []string
}

// twoAtATime runs f(0) … f(n-1), two at a time (the machine's cores are shared).
func twoAtATime(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// makePages makes (or finds, see pagesDir) the pages of specs.
func makePages(tb testing.TB, specs []pageSpec) []string {
	im, dir := imagemagick(tb), pagesDir(tb)
	paths := make([]string, len(specs))
	twoAtATime(len(specs), func(i int) { paths[i] = pageFile(tb, im, dir, specs[i]) })
	return paths
}

// pagesDir is where pages are made: QRIMAGE_PAGES_DIR keeps them between runs (for
// work on the decoder), else a temporary folder.
func pagesDir(tb testing.TB) string {
	if d := os.Getenv("QRIMAGE_PAGES_DIR"); d != "" {
		return d
	}
	return tb.TempDir()
}

// pageFile makes the page for s in dir, or reuses the one already there.
func pageFile(tb testing.TB, im, dir string, s pageSpec) string {
	if m, _ := filepath.Glob(filepath.Join(dir, s.Name+".[jp][pn]g")); len(m) == 1 {
		return m[0]
	}
	return makePage(tb, im, dir, s)
}

func peerDecoders() []decoder {
	var ds []decoder
	if d, ok := zbarDecoder(); ok {
		ds = append(ds, d)
	}
	if d, ok := zxingReaderDecoder(); ok {
		ds = append(ds, d)
	}
	return ds
}

// corpusItem is one image of a corpus and the payload it holds.
type corpusItem struct{ name, class, path, want string }

func pageItems(tb testing.TB, specs []pageSpec) []corpusItem {
	paths := makePages(tb, specs)
	items := make([]corpusItem, len(specs))
	for i, s := range specs {
		items[i] = corpusItem{name: s.Name, class: s.Class, path: paths[i], want: s.Payload}
	}
	return items
}

// listedCorpus is a generated corpus held to its committed list of readers.
type listedCorpus struct {
	file, test string   // the list, and the test that rewrites it
	names      []string // every image, in order
	classes    []string // each image's class
	// make makes (or finds) the images named and returns them.
	make func(tb testing.TB, idx []int) []corpusItem
	// strict says whether a peer reading an image of class that we miss fails the
	// test (else it is logged).
	strict func(class string) bool
}

// sample picks the images a plain test run decodes: under -short or -race one image
// per class, its hardest (the last by name); else also every image on which the
// decoders disagree in the committed list. -update-pages or QRIMAGE_ALL_PAGES=1 runs
// them all.
func (c listedCorpus) sample(list pagesList) []int {
	var out []int
	if *updatePages || os.Getenv("QRIMAGE_ALL_PAGES") != "" {
		for i := range c.names {
			out = append(out, i)
		}
		return out
	}
	hardest := map[string]int{}
	for i, n := range c.names {
		if j, ok := hardest[c.classes[i]]; !ok || n > c.names[j] {
			hardest[c.classes[i]] = i
		}
	}
	for i, n := range c.names {
		readers := list[n]
		disagree := len(readers) > 0 && len(readers) < 3
		if hardest[c.classes[i]] == i || (!testing.Short() && !raceEnabled && disagree) {
			out = append(out, i)
		}
	}
	return out
}

// check holds the decoder to the committed list and to the peers: an image we read
// before must still be read, and none that zbarimg or ZXingReader reads may be missed.
func (c listedCorpus) check(t *testing.T) {
	var list pagesList
	if !*updatePages {
		list = readList(t, c.file)
		for _, n := range c.names {
			if _, ok := list[n]; !ok {
				t.Fatalf("%s is not in %s: run go test ./drivers/qrimage/ -run '%s$' -args -update-pages", n, c.file, c.test)
			}
		}
	}
	tools := append([]decoder{oursDecoder()}, peerDecoders()...)
	items := c.make(t, c.sample(list))
	res := make([]pageResult, len(items))
	twoAtATime(len(items), func(i int) {
		res[i].spec = pageSpec{Name: items[i].name, Class: items[i].class}
		for _, tool := range tools {
			if found(tool.decode(items[i].path), []string{items[i].want}) {
				res[i].readers = append(res[i].readers, tool.name)
			}
		}
	})
	for _, r := range res {
		ours := slices.Contains(r.readers, "qrimage")
		if !ours && len(r.readers) > 0 {
			if c.strict(r.spec.Class) {
				t.Errorf("%s: read by %v, missed by qrimage", r.spec.Name, r.readers)
			} else {
				t.Logf("%s: read by %v, not by qrimage", r.spec.Name, r.readers)
			}
		}
		if !ours && slices.Contains(list[r.spec.Name], "qrimage") {
			t.Errorf("%s: qrimage read it when %s was written, and no longer does", r.spec.Name, c.file)
		}
	}
	if *updatePages {
		writeList(t, c.file, c.test, res, tools)
	}
	t.Logf("%d images decoded:\n%s", len(res), classTable(res, tools))
}

// TestPageCorpus holds the decoder to testdata/pages.tsv and to the peers. Beyond the
// dense page classes a peer's lead is reported, not failed.
func TestPageCorpus(t *testing.T) {
	specs := pageSpecs()
	c := listedCorpus{file: pagesFile, test: "TestPageCorpus", strict: func(class string) bool { return strings.HasPrefix(class, "dense-") },
		make: func(tb testing.TB, idx []int) []corpusItem {
			var picked []pageSpec
			for _, i := range idx {
				picked = append(picked, specs[i])
			}
			return pageItems(tb, picked)
		}}
	for _, s := range specs {
		c.names, c.classes = append(c.names, s.Name), append(c.classes, s.Class)
	}
	c.check(t)
}

// writeList writes file, the list of what each decoder read, with the per-class table
// at its top.
func writeList(t *testing.T, file, test string, res []pageResult, tools []decoder) {
	var b strings.Builder
	b.WriteString("# Per generated image of the corpus of " + test + ", the decoders that read its QR.\n")
	b.WriteString("# Rewrite with: go test ./drivers/qrimage/ -run '" + test + "$' -args -update-pages\n")
	b.WriteString("# Per class (read/pages):\n")
	for _, l := range strings.Split(strings.TrimSpace(classTable(res, tools)), "\n") {
		b.WriteString("#   " + strings.TrimRight(l, " ") + "\n")
	}
	for _, r := range res {
		readers := strings.Join(r.readers, ",")
		if readers == "" {
			readers = "-"
		}
		fmt.Fprintf(&b, "%s\t%s\n", r.spec.Name, readers)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// classTable counts per class the pages each decoder read, and those only the first
// decoder (ours) read.
func classTable(res []pageResult, tools []decoder) string {
	type count struct{ n, onlyUs int }
	per := map[string]map[string]int{}
	cnt := map[string]*count{}
	var classes []string
	for _, r := range res {
		c := r.spec.Class
		if cnt[c] == nil {
			cnt[c] = &count{}
			per[c] = map[string]int{}
			classes = append(classes, c)
		}
		cnt[c].n++
		for _, d := range r.readers {
			per[c][d]++
		}
		if len(r.readers) == 1 && r.readers[0] == tools[0].name {
			cnt[c].onlyUs++
		}
	}
	sort.Strings(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s", "class")
	for _, tool := range tools {
		fmt.Fprintf(&b, " %12s", tool.name)
	}
	fmt.Fprintf(&b, " %12s\n", "only-"+tools[0].name)
	for _, c := range classes {
		fmt.Fprintf(&b, "%-20s", c)
		for _, tool := range tools {
			fmt.Fprintf(&b, " %9d/%-2d", per[c][tool.name], cnt[c].n)
		}
		fmt.Fprintf(&b, " %9d/%-2d\n", cnt[c].onlyUs, cnt[c].n)
	}
	return b.String()
}
