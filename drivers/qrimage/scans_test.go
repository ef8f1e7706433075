package qrimage

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The scan corpus: what the hidden corpus describes, made here from specs.
// ID-card, dossier and short payloads encoded by qrencode and degraded by ImageMagick
// (rotation, blur, noise, low contrast, small modules, JPEG, perspective, A4 scans):
// 41 degradations × 4 payloads = 164 images. testdata/scans.tsv lists, per image, the
// decoders that read it.

// scanPayloads are the four kinds of payload a counter sees.
var scanPayloads = []struct{ kind, text string }{
	{"card", pagePayload(0, false)},
	{"card24", pagePayload(1, true)},
	{"dossier", "https://dichvucong.nghean.gov.vn/tra-cuu?ma=000.00.31.H40-231201-0001"},
	{"short", "H40.22-230701-0042|13"},
}

// scanSpec is one generated image.
type scanSpec struct {
	Name, Class, Payload string
	Module               float64  // pixels per module
	Ops                  []string // ImageMagick operators on the code (with its quiet zone)
	Page                 int      // when set, the code is put on an A4 page of this dpi
	PageOps              []string // operators on the whole page
	Ext                  string
}

// scanVariant is one degradation, applied to every payload.
type scanVariant struct {
	name, class string
	module      float64
	ops         []string
	page        int
	pageOps     []string
	ext         string
}

func perspectiveOps(p, module float64) []string {
	// The code's side with quiet zone is not known here; a distortion in percent of
	// the image's size is written with ImageMagick's viewport-relative control points.
	return []string{"-virtual-pixel", "white", "+distort", "Perspective",
		fmt.Sprintf("0,0 0,0  %%[fx:w],0 %%[fx:w*(1-%g)],%%[fx:h*%g]  0,%%[fx:h] 0,%%[fx:h]  %%[fx:w],%%[fx:h] %%[fx:w*(1-%g)],%%[fx:h*(1-%g)]", p, p/2, p, p/2)}
}

var scanVariants = []scanVariant{
	{name: "m2", class: "clean", module: 2, ext: "png"},
	{name: "m3", class: "clean", module: 3, ext: "png"},
	{name: "m4", class: "clean", module: 4, ext: "png"},
	{name: "m8", class: "clean", module: 8, ext: "png"},
	{name: "m1.5", class: "small", module: 1.5, ext: "png"},
	{name: "m1.7-jpeg", class: "small", module: 1.7, ext: "jpg", ops: []string{"-quality", "85"}},
	{name: "m2-blur", class: "small", module: 2, ext: "png", ops: []string{"-blur", "0x0.7"}},
	{name: "m2.5-jpeg", class: "small", module: 2.5, ext: "jpg", ops: []string{"-quality", "75"}},
	{name: "r90", class: "rotated", module: 4, ext: "png", ops: []string{"-rotate", "90"}},
	{name: "r180", class: "rotated", module: 4, ext: "png", ops: []string{"-rotate", "180"}},
	{name: "r270-jpeg", class: "rotated", module: 3, ext: "jpg", ops: []string{"-rotate", "270", "-quality", "80"}},
	{name: "r17", class: "rotated", module: 5, ext: "png", ops: []string{"-background", "white", "-rotate", "17"}},
	{name: "r45", class: "rotated", module: 5, ext: "png", ops: []string{"-background", "white", "-rotate", "45"}},
	{name: "r-5", class: "rotated", module: 3, ext: "png", ops: []string{"-background", "white", "-rotate", "-5"}},
	{name: "b1", class: "blur", module: 5, ext: "png", ops: []string{"-blur", "0x1"}},
	{name: "b1.5-jpeg", class: "blur", module: 5, ext: "jpg", ops: []string{"-blur", "0x1.5", "-quality", "60"}},
	{name: "b2", class: "blur", module: 6, ext: "png", ops: []string{"-blur", "0x2"}},
	{name: "b3", class: "blur", module: 8, ext: "png", ops: []string{"-blur", "0x3"}},
	{name: "gauss", class: "noise", module: 5, ext: "png", ops: []string{"-attenuate", "0.8", "+noise", "Gaussian"}},
	{name: "gauss-jpeg", class: "noise", module: 6, ext: "jpg", ops: []string{"-attenuate", "1.6", "+noise", "Gaussian", "-quality", "50"}},
	{name: "impulse", class: "noise", module: 6, ext: "png", ops: []string{"-attenuate", "0.3", "+noise", "Impulse"}},
	{name: "impulse-light", class: "noise", module: 4, ext: "png", ops: []string{"-attenuate", "0.1", "+noise", "Impulse"}},
	{name: "low", class: "contrast", module: 4, ext: "png", ops: []string{"+level", "40%,65%"}},
	{name: "dark-jpeg", class: "contrast", module: 4, ext: "jpg", ops: []string{"+level", "10%,45%", "-quality", "70"}},
	{name: "pale", class: "contrast", module: 5, ext: "png", ops: []string{"+level", "55%,80%"}},
	{name: "faded-jpeg", class: "contrast", module: 3, ext: "jpg", ops: []string{"+level", "30%,60%", "-quality", "60"}},
	{name: "q20", class: "jpeg", module: 3, ext: "jpg", ops: []string{"-quality", "20"}},
	{name: "q35", class: "jpeg", module: 4, ext: "jpg", ops: []string{"-quality", "35"}},
	{name: "q50-m2", class: "jpeg", module: 2, ext: "jpg", ops: []string{"-quality", "50"}},
	{name: "p0.15", class: "perspective", module: 5, ext: "png", ops: perspectiveOps(0.15, 5)},
	{name: "p0.25-jpeg", class: "perspective", module: 5, ext: "jpg", ops: append(perspectiveOps(0.25, 5), "-quality", "80")},
	{name: "p0.2-r10", class: "perspective", module: 4, ext: "png", ops: append(perspectiveOps(0.2, 4), "-background", "white", "-rotate", "10")},
	{name: "300-m6", class: "a4", module: 6, page: 300, ext: "png"},
	{name: "300-m4-jpeg", class: "a4", module: 4, page: 300, ext: "jpg", pageOps: []string{"-blur", "0x0.8", "-attenuate", "0.4", "+noise", "Gaussian", "-quality", "75"}},
	{name: "300-m3-r8", class: "a4", module: 3, page: 300, ext: "png", ops: []string{"-background", "white", "-rotate", "8"}},
	{name: "300-m5-bilevel", class: "a4", module: 5, page: 300, ext: "png", pageOps: []string{"-blur", "0x0.6", "-threshold", "55%", "-type", "Bilevel"}},
	{name: "200-m3-jpeg", class: "a4", module: 3, page: 200, ext: "jpg", ops: []string{"-background", "white", "-rotate", "2"}, pageOps: []string{"-blur", "0x0.6", "-quality", "80"}},
	{name: "200-m4-r180", class: "a4", module: 4, page: 200, ext: "jpg", pageOps: []string{"-blur", "0x0.6", "-rotate", "180", "-quality", "80"}},
	{name: "150-m2.5-jpeg", class: "a4", module: 2.5, page: 150, ext: "jpg", pageOps: []string{"-blur", "0x0.5", "-quality", "85"}},
	{name: "150-m3-low", class: "a4", module: 3, page: 150, ext: "png", pageOps: []string{"-blur", "0x0.6", "+level", "25%,75%"}},
	{name: "300-m8-p0.15", class: "a4", module: 8, page: 300, ext: "jpg", ops: perspectiveOps(0.15, 8), pageOps: []string{"-blur", "0x0.8", "-quality", "80"}},
}

// scanSpecs lists the whole scan corpus in a fixed order.
func scanSpecs() []scanSpec {
	var out []scanSpec
	for _, v := range scanVariants {
		for _, p := range scanPayloads {
			out = append(out, scanSpec{Name: v.class + "-" + v.name + "-" + p.kind, Class: v.class, Payload: p.text,
				Module: v.module, Ops: v.ops, Page: v.page, PageOps: v.pageOps, Ext: v.ext})
		}
	}
	return out
}

// makeScan writes the image for s into dir (or finds it there) and returns its path.
func makeScan(tb testing.TB, im, dir string, s scanSpec) string {
	tb.Helper()
	dst := filepath.Join(dir, s.Name+"."+s.Ext)
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	src := filepath.Join(dir, s.Name+".qr.png")
	run(tb, "qrencode", "-8", "-l", "M", "-m", "0", "-s", "1", "-o", src, s.Payload)
	n := pngSide(tb, src)
	quiet := int(4*s.Module + 0.5)
	code := []string{src}
	if s.Module == float64(int(s.Module)) {
		code = append(code, "-scale", fmt.Sprintf("%d00%%", int(s.Module)))
	} else {
		side := int(s.Module*float64(n) + 0.5)
		code = append(code, "-scale", "1000%", "-filter", "Triangle", "-resize", fmt.Sprintf("%dx%d!", side, side))
	}
	code = append(code, "-bordercolor", "white", "-border", strconv.Itoa(quiet))
	code = append(code, s.Ops...)
	var args []string
	if s.Page == 0 {
		args = append(code, "-colorspace", "Gray")
	} else {
		pw, ph := a4Pixels[s.Page][0], a4Pixels[s.Page][1]
		args = []string{"-size", fmt.Sprintf("%dx%d", pw, ph), "xc:white", "-fill", "black", "-pointsize", strconv.Itoa(ph / 90)}
		if font := pageFont(); font != "" {
			args = append(args, "-font", font)
		}
		args = append(args, "-annotate", fmt.Sprintf("+%d+%d", pw/12, ph/3), pageText)
		args = append(args, "(")
		args = append(args, code...)
		args = append(args, ")", "-gravity", "NorthEast", "-geometry", fmt.Sprintf("+%d+%d", pw/16, ph/24), "-composite", "+gravity")
		args = append(args, s.PageOps...)
		args = append(args, "-colorspace", "Gray")
	}
	tmp := filepath.Join(dir, ".tmp-"+s.Name+"."+s.Ext)
	run(tb, imagemagick(tb), append(args, tmp)...)
	if err := os.Rename(tmp, dst); err != nil {
		tb.Fatal(err)
	}
	os.Remove(src)
	return dst
}

// scansDir is where the scan corpus is made: QRIMAGE_SCANS_DIR keeps it between runs.
func scansDir(tb testing.TB) string {
	if d := os.Getenv("QRIMAGE_SCANS_DIR"); d != "" {
		return d
	}
	return tb.TempDir()
}

// makeScans makes (or finds) the images of specs.
func makeScans(tb testing.TB, specs []scanSpec) []string {
	im, dir := imagemagick(tb), scansDir(tb)
	if _, err := os.Stat(dir); err != nil {
		tb.Fatal(err)
	}
	paths := make([]string, len(specs))
	twoAtATime(len(specs), func(i int) { paths[i] = makeScan(tb, im, dir, specs[i]) })
	return paths
}

const scansFile = "testdata/scans.tsv"

func scanItems(tb testing.TB, specs []scanSpec) []corpusItem {
	paths := makeScans(tb, specs)
	items := make([]corpusItem, len(specs))
	for i, s := range specs {
		items[i] = corpusItem{name: s.Name, class: s.Class, path: paths[i], want: s.Payload}
	}
	return items
}

// TestScanCorpus holds the decoder to testdata/scans.tsv and to the peers: an image
// read before must still be read, and none that zbarimg or ZXingReader reads may be
// missed. -args -update-pages decodes every image and rewrites the list.
func TestScanCorpus(t *testing.T) {
	specs := scanSpecs()
	c := listedCorpus{file: scansFile, test: "TestScanCorpus", strict: func(string) bool { return true },
		make: func(tb testing.TB, idx []int) []corpusItem {
			var picked []scanSpec
			for _, i := range idx {
				picked = append(picked, specs[i])
			}
			return scanItems(tb, picked)
		}}
	for _, s := range specs {
		c.names, c.classes = append(c.names, s.Name), append(c.classes, s.Class)
	}
	c.check(t)
}
