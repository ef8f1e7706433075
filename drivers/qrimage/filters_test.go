package qrimage

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// boxBlurReference is the 3×3 mean written plainly: boxBlur must give the same pixels.
func boxBlurReference(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if yy, xx := y+dy, x+dx; yy >= 0 && yy < h && xx >= 0 && xx < w {
						sum += int(g.Pix[yy*g.Stride+xx])
						n++
					}
				}
			}
			out.Pix[y*out.Stride+x] = uint8(sum / n)
		}
	}
	return out
}

// boxMeanReference is boxMean written plainly (row means ×8 truncated, then the
// column mean of those).
func boxMeanReference(g *image.Gray, r int) []uint8 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	rows := make([]int, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			lo, hi := max(x-r, 0), min(x+r, w-1)
			s := 0
			for xx := lo; xx <= hi; xx++ {
				s += int(g.Pix[y*g.Stride+xx])
			}
			rows[y*w+x] = s * 8 / (hi - lo + 1)
		}
	}
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		lo, hi := max(y-r, 0), min(y+r, h-1)
		for x := 0; x < w; x++ {
			s := 0
			for yy := lo; yy <= hi; yy++ {
				s += rows[yy*w+x]
			}
			out[y*w+x] = uint8(s / (8 * (hi - lo + 1)))
		}
	}
	return out
}

// TestFiltersMatchReference: the fast box filters give exactly the plain filters'
// pixels, on every size down to one pixel and on padded rows.
func TestFiltersMatchReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {3, 5}, {5, 3}, {6, 6}, {37, 23}, {128, 97}} {
		w, h := sz[0], sz[1]
		big := image.NewGray(image.Rect(0, 0, w+5, h))
		for i := range big.Pix {
			big.Pix[i] = uint8(rnd.IntN(256))
		}
		g := big.SubImage(image.Rect(0, 0, w, h)).(*image.Gray)
		if got, want := boxBlur(g), boxBlurReference(g); !bytes.Equal(packed(got).Pix, packed(want).Pix) {
			t.Errorf("boxBlur %dx%d differs from the reference", w, h)
		}
		for _, r := range []int{1, 2, 3} {
			if got, want := boxMean(g, r), boxMeanReference(g, r); !bytes.Equal(got, want) {
				t.Errorf("boxMean r=%d %dx%d differs from the reference", r, w, h)
			}
		}
	}
}
