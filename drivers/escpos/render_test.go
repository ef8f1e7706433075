package escpos

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

var update = flag.Bool("update", false, "rewrite the golden images")

func decodeOne(t *testing.T, b []byte, width int) *image.Gray {
	t.Helper()
	jobs, err := Decode(b, width)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || !jobs[0].Cut {
		t.Fatalf("%d jobs, want 1 cut ticket", len(jobs))
	}
	return jobs[0].Image
}

func samePixels(a, b *image.Gray) bool {
	return a.Bounds().Size() == b.Bounds().Size() && bytes.Equal(pixels(a), pixels(b))
}

func pixels(g *image.Gray) []byte {
	var out []byte
	for y := g.Bounds().Min.Y; y < g.Bounds().Max.Y; y++ {
		out = append(out, g.Pix[g.PixOffset(g.Bounds().Min.X, y):g.PixOffset(g.Bounds().Max.X, y)]...)
	}
	return out
}

// Our bytes decoded back match the committed golden image, for both paper widths.
func TestGolden(t *testing.T) {
	for _, width := range []int{Width58, Width80} {
		b, err := Render(Sample(), Options{Width: width, NativeQR: true})
		if err != nil {
			t.Fatal(err)
		}
		got := decodeOne(t, b, width)
		path := filepath.Join("testdata", "ticket-"+map[int]string{Width58: "58", Width80: "80"}[width]+".png")
		if *update {
			os.MkdirAll("testdata", 0o755)
			f, _ := os.Create(path)
			png.Encode(f, got)
			f.Close()
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("golden: %v (run go test -update once)", err)
		}
		gi, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := image.NewGray(gi.Bounds())
		for y := 0; y < gi.Bounds().Dy(); y++ {
			for x := 0; x < gi.Bounds().Dx(); x++ {
				want.Set(x, y, gi.At(x, y))
			}
		}
		if !samePixels(got, want) {
			os.WriteFile(path+".got.png", encodePNG(got), 0o644)
			t.Fatalf("width %d: decoded ticket differs from %s (wrote .got.png)", width, path)
		}
		if got.Bounds().Dx() != width {
			t.Fatalf("decoded width %d, want %d", got.Bounds().Dx(), width)
		}
	}
}

func encodePNG(g image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, g)
	return b.Bytes()
}

// The printer-drawn QR and the raster fallback print the same ticket, and the QR on it
// scans back to the status address.
func TestQRNativeAndRasterAgree(t *testing.T) {
	s := Sample()
	native, err := Render(s, Options{Width: Width80, NativeQR: true})
	if err != nil {
		t.Fatal(err)
	}
	raster, err := Render(s, Options{Width: Width80})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raster, []byte{gs, '(', 'k'}) || !bytes.Contains(native, []byte{gs, '(', 'k'}) {
		t.Fatal("QR commands in the wrong stream")
	}
	a, b := decodeOne(t, native, Width80), decodeOne(t, raster, Width80)
	if !samePixels(a, b) {
		t.Fatal("native and raster QR tickets differ")
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(a)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR does not scan: %v", err)
	}
	if res.GetText() != s.StatusURL {
		t.Fatalf("QR says %q", res.GetText())
	}
}

func TestRenderRefusesBadWidth(t *testing.T) {
	if _, err := Render(Sample(), Options{Width: 500}); err == nil {
		t.Fatal("width 500 accepted")
	}
}

// Tesseract with Vietnamese data reads the office and service names, with their
// diacritics, from the rendered ticket.
func TestOCRVietnamese(t *testing.T) {
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Skip("tesseract not installed")
	}
	langs, _ := exec.Command("tesseract", "--list-langs").CombinedOutput()
	if !strings.Contains(string(langs), "vie") {
		t.Skip("tesseract Vietnamese data (tesseract-ocr-vie) not installed")
	}
	s := Sample()
	s.StatusURL = ""
	b, err := Render(s, Options{Width: Width80})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeOne(t, b, Width80)
	path := filepath.Join(t.TempDir(), "ticket.png")
	if err := os.WriteFile(path, encodePNG(img), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tesseract", path, "-", "-l", "vie", "--psm", "4").CombinedOutput()
	if err != nil {
		t.Fatalf("tesseract: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Trung tâm Phục vụ hành chính công", "phường Ba Đình", "Chứng thực, hộ tịch", "1023"} {
		if !strings.Contains(text, want) {
			t.Errorf("OCR text lacks %q:\n%s", want, text)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Render(Sample(), Options{Width: Width58, NativeQR: true})
	f.Add(b[:min(len(b), 600)])
	f.Add([]byte{esc, '@', gs, 'v', '0', 0, 1, 0, 2, 0, 0xff, 0x0f, gs, 'V', 66, 0})
	f.Add([]byte{dle, eot, 4, gs, '(', 'k', 3, 0, '1', 'C', 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, _ := Decode(b, Width58)
		for _, j := range jobs {
			if j.Image != nil && j.Image.Bounds().Dy() > maxDecodeRows+rasterBand*2+feedRows*255 {
				t.Fatalf("image of %d rows", j.Image.Bounds().Dy())
			}
		}
	})
}
