package qrimage

import (
	"image"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// gozxingHybrid is gozxing's own HybridBinarizer over g.
func gozxingHybrid(t *testing.T, g *image.Gray) *gozxing.BitMatrix {
	t.Helper()
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, g.Rect.Dy(), 0, 0, g.Rect.Dx(), g.Rect.Dy(), false)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
	if err != nil {
		t.Fatal(err)
	}
	return bm
}

func sameMatrix(t *testing.T, name string, g *image.Gray) {
	t.Helper()
	got, want := hybridMatrix(g), gozxingHybrid(t, g)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if got.Get(x, y) != want.Get(x, y) {
				t.Fatalf("%s (%dx%d): pixel (%d,%d) black %v, gozxing says %v", name, w, h, x, y, got.Get(x, y), want.Get(x, y))
			}
		}
	}
}

// TestHybridMatrixSame: the package's binarizer makes gozxing's HybridBinarizer's
// matrix exactly, on noise, flat areas and gradients (its flat-block rule), sizes
// that are not multiples of the block, padded rows, and the degraded corpus.
func TestHybridMatrixSame(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{40, 40}, {41, 57}, {64, 64}, {100, 43}, {203, 131}} {
		w, h := sz[0], sz[1]
		for kind := range 3 {
			big := image.NewGray(image.Rect(0, 0, w+7, h))
			for y := 0; y < h; y++ {
				for x := 0; x < w+7; x++ {
					var v int
					switch kind {
					case 0: // noise
						v = rnd.IntN(256)
					case 1: // flat patches with faint noise and a few dark spots
						v = 200 + rnd.IntN(10) - 150*((x/13+y/11)%2)
						if rnd.IntN(40) == 0 {
							v = rnd.IntN(60)
						}
					case 2: // a slow gradient
						v = (x*3 + y*2) % 256
					}
					big.Pix[y*big.Stride+x] = uint8(min(max(v, 0), 255))
				}
			}
			sameMatrix(t, "synthetic", big.SubImage(image.Rect(0, 0, w, h)).(*image.Gray))
		}
	}
	if hybridMatrix(image.NewGray(image.Rect(0, 0, 39, 100))) != nil {
		t.Error("an image under 40 pixels a side is left to gozxing")
	}
	for _, c := range buildCorpus(t, t.TempDir()) {
		img, err := loadImage(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, filepath.Base(c.Path), toGray(img))
	}
}
