package qrimage

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// Payloads of real formats (fictional people), Vietnamese text included.
var payloads = []string{
	"001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Phường Hai Bà Trưng, Hà Nội|20042021",
	"040199000123||Trần Thị Ánh|01021999|Nữ|Xóm 3, Phường Hưng Dũng, Nghệ An|05082024|Trần Văn Cả|Lê Thị Dần",
	"H40.22-230701-0001|13",
	"https://dichvucong.nghean.gov.vn/tra-cuu?ma=H40.22-230701-0042",
	"Đặng Thị Hồng Nhung — Ủy ban nhân dân xã Đức Thọ",
}

// corpusCase is one degraded image with the payloads it must decode to, exactly.
type corpusCase struct {
	Name, Class string
	Path        string
	Want        []string
}

// imagemagick returns the convert/magick command.
func imagemagick(tb testing.TB) string {
	for _, n := range []string{"convert", "magick"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	tb.Skip("ImageMagick not installed (apt-get install imagemagick)")
	return ""
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// qrencodePNG writes a QR of payload with the given module size (pixels).
func qrencodePNG(tb testing.TB, dir, name, payload string, module int) string {
	tb.Helper()
	if _, err := exec.LookPath("qrencode"); err != nil {
		tb.Skip("qrencode not installed (apt-get install qrencode)")
	}
	p := filepath.Join(dir, name+".src.png")
	run(tb, "qrencode", "-8", "-l", "M", "-m", "4", "-s", fmt.Sprint(module), "-o", p, payload)
	return p
}

// buildCorpus makes the degraded corpus: every class the scanned pages at a counter
// produce. A4 pages are 2480x3508 (300 dpi).
func buildCorpus(tb testing.TB, dir string) []corpusCase {
	im := imagemagick(tb)
	var cs []corpusCase
	add := func(class, name string, payload string, module int, ext string, ops ...string) {
		src := qrencodePNG(tb, dir, name, payload, module)
		dst := filepath.Join(dir, name+"."+ext)
		run(tb, im, append(append([]string{src}, ops...), dst)...)
		cs = append(cs, corpusCase{Name: name, Class: class, Path: dst, Want: []string{payload}})
	}
	p := payloads
	add("clean", "clean-card", p[0], 4, "png")
	add("clean", "clean-2024", p[1], 4, "png")
	add("modules", "module-2", p[0], 2, "png")
	add("modules", "module-3", p[4], 3, "png")
	add("modules", "module-12", p[2], 12, "png")
	add("rotated", "rot-90", p[0], 4, "png", "-rotate", "90")
	add("rotated", "rot-180", p[1], 4, "png", "-rotate", "180")
	add("rotated", "rot-17", p[0], 5, "png", "-background", "white", "-rotate", "17")
	add("rotated", "rot-45", p[3], 5, "png", "-background", "white", "-rotate", "45")
	add("blur", "blur-1", p[0], 5, "png", "-blur", "0x1")
	add("blur", "blur-2", p[1], 6, "png", "-blur", "0x2")
	add("blur", "blur-jpeg", p[4], 5, "jpg", "-blur", "0x1.5", "-quality", "60")
	add("blur", "blur-3", p[2], 8, "png", "-blur", "0x3")
	add("modules", "module-2-blur", p[0], 2, "png", "-blur", "0x0.7")
	add("modules", "module-1.5", p[2], 3, "png", "-resize", "50%")
	add("noise", "noise-heavy", p[2], 6, "jpg", "-attenuate", "1.6", "+noise", "Gaussian", "-quality", "50")
	add("noise", "noise-gauss", p[0], 5, "png", "-attenuate", "0.8", "+noise", "Gaussian")
	add("noise", "noise-impulse", p[1], 6, "png", "-attenuate", "0.3", "+noise", "Impulse")
	add("contrast", "low-contrast", p[0], 4, "png", "+level", "40%,65%")
	add("contrast", "dark-grey", p[2], 4, "jpg", "+level", "10%,45%", "-quality", "70")
	a4 := []string{"-background", "white", "-gravity", "northeast", "-extent", "2480x3508"}
	add("a4", "a4-receipt", p[2], 6, "png", append([]string{"-bordercolor", "white", "-border", "150"}, a4...)...)
	add("a4", "a4-card-jpeg", p[0], 5, "jpg", append(append([]string{"-bordercolor", "white", "-border", "200"}, a4...),
		"-blur", "0x0.8", "-attenuate", "0.4", "+noise", "Gaussian", "-quality", "75")...)
	add("a4", "a4-small-rot", p[3], 3, "png", append([]string{"-background", "white", "-rotate", "8", "-bordercolor", "white", "-border", "300"}, a4...)...)
	// Two codes on one page: the receipt and the citizen's card.
	{
		a := qrencodePNG(tb, dir, "two-a", p[2], 6)
		b := qrencodePNG(tb, dir, "two-b", p[0], 5)
		dst := filepath.Join(dir, "a4-two.png")
		run(tb, im, "-size", "2480x3508", "xc:white", a, "-geometry", "+300+300", "-composite", b, "-geometry", "+1200+2000", "-composite", dst)
		cs = append(cs, corpusCase{Name: "a4-two", Class: "a4", Path: dst, Want: []string{p[2], p[0]}})
	}
	return cs
}
