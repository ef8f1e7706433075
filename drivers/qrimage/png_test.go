package qrimage

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wantGray is what a PNG must decode to: image/png's image, each pixel's luminance
// composited over white.
func wantGray(t *testing.T, b []byte) *image.Gray {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
			out.Pix[y*out.Stride+x] = overWhite(luma(byte(c.R>>8), byte(c.G>>8), byte(c.B>>8)), byte(c.A>>8))
		}
	}
	return out
}

func samePixels(t *testing.T, name string, got, want *image.Gray) {
	t.Helper()
	if got.Rect != want.Rect {
		t.Fatalf("%s: %v, want %v", name, got.Rect, want.Rect)
	}
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			g, w := int(got.Pix[y*got.Stride+x]), int(want.Pix[y*want.Stride+x])
			if g-w > 1 || w-g > 1 {
				t.Fatalf("%s: pixel (%d,%d) = %d, want %d", name, x, y, g, w)
			}
		}
	}
}

// noisy fills an image with a gradient and noise, so every PNG filter is used.
func noisy(w, h int, set func(x, y int, v, a uint8)) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8((x*7 + y*3 + rnd.IntN(40)) % 256)
			a := uint8(255)
			if (x+y)%5 == 0 {
				a = uint8(rnd.IntN(256))
			}
			set(x, y, v, a)
		}
	}
}

// TestPNGGray decodes every PNG colour type and depth that Go's encoder or
// ImageMagick writes, and compares with image/png.
func TestPNGGray(t *testing.T) {
	const w, h = 67, 41
	r := image.Rect(0, 0, w, h)
	gray, gray16 := image.NewGray(r), image.NewGray16(r)
	nrgba, nrgba64 := image.NewNRGBA(r), image.NewNRGBA64(r)
	pal := image.NewPaletted(r, color.Palette{color.White, color.Black, color.NRGBA{200, 10, 10, 128}})
	pal256 := image.NewPaletted(r, nil)
	for i := range 256 {
		pal256.Palette = append(pal256.Palette, color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 7), uint8(255 - i/4)})
	}
	noisy(w, h, func(x, y int, v, a uint8) {
		gray.SetGray(x, y, color.Gray{v})
		gray16.SetGray16(x, y, color.Gray16{uint16(v)<<8 | uint16(x)})
		nrgba.SetNRGBA(x, y, color.NRGBA{v, 255 - v, v / 2, a})
		nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(v) << 8, uint16(255-v) << 8, 0x1234, uint16(a) << 8})
		pal.SetColorIndex(x, y, v%3)
		pal256.SetColorIndex(x, y, v)
	})
	files := map[string][]byte{}
	for name, img := range map[string]image.Image{"gray8": gray, "gray16": gray16, "rgba8": nrgba,
		"rgba16": nrgba64, "palette2": pal, "palette8": pal256} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		files[name] = buf.Bytes()
	}
	// Grey+alpha, low-depth grey, RGB without alpha and interlaced files come from
	// ImageMagick, which writes them (a page with a rotated code pasted on it is
	// 16-bit grey+alpha).
	if im := imagemagickPath(); im != "" {
		dir := t.TempDir()
		src := filepath.Join(dir, "src.png")
		os.WriteFile(src, files["rgba16"], 0o600)
		for name, args := range map[string][]string{
			"ga8":        {"-colorspace", "Gray", "-define", "png:color-type=4", "-depth", "8"},
			"ga16":       {"-colorspace", "Gray", "-define", "png:color-type=4", "-depth", "16"},
			"gray1":      {"-colorspace", "Gray", "-threshold", "50%", "-alpha", "off", "-type", "Bilevel"},
			"gray4":      {"-colorspace", "Gray", "-alpha", "off", "-depth", "4", "-define", "png:color-type=0", "-define", "png:bit-depth=4"},
			"rgb8":       {"-alpha", "off", "-define", "png:color-type=2", "-depth", "8"},
			"rgb16":      {"-alpha", "off", "-define", "png:color-type=2", "-depth", "16"},
			"interlaced": {"-interlace", "PNG"},
		} {
			dst := filepath.Join(dir, name+".png")
			run(t, im, append(append([]string{src}, args...), dst)...)
			b, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
	}
	for name, b := range files {
		h, err := pngConfig(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := decodePNGGray(b, h)
		if name == "interlaced" {
			if !errors.Is(err, errPNGInterlaced) {
				t.Fatalf("interlaced: %v, want it left to image/png", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s (depth %d, colour type %d): %v", name, h.depth, h.colorType, err)
		}
		t.Logf("%s: depth %d, colour type %d", name, h.depth, h.colorType)
		samePixels(t, name, got, wantGray(t, b))
	}
	// A truncated or corrupted file is an error, never a panic.
	b := files["gray8"]
	for _, bad := range [][]byte{b[:len(b)/2], append(append([]byte(nil), b[:40]...), 0xff), b[:20]} {
		if _, err := DecodeBytes(bad, Options{}); !errors.Is(err, ErrNotAnImage) {
			t.Errorf("corrupt PNG of %d bytes: %v", len(bad), err)
		}
	}
}

func imagemagickPath() string {
	for _, n := range []string{"convert", "magick"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}
