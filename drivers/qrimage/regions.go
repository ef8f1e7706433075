package qrimage

import (
	"image"
	"math"

	"github.com/makiuchi-d/gozxing"
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// codeRegions finds the finder-pattern triples on a page and returns the rectangle
// each code occupies, with its quiet zone, in g's pixels. On a large page a small dense
// code often has findable finder patterns but modules too few pixels wide (and edges
// too jagged, on a bilevel scan) for the grid to be sampled at the page's scale; the
// region, cut out and enlarged, decodes.
func codeRegions(g *image.Gray, global bool, hints map[gozxing.DecodeHintType]interface{}, mats *matrices) (rs []image.Rectangle) {
	defer func() {
		if recover() != nil {
			rs = nil
		}
	}()
	bm := mats.get(g, global)
	if bm == nil {
		return nil
	}
	infos, err := multidetector.NewMultiFinderPatternFinder(bm, nil).FindMulti(hints)
	if err != nil || len(infos) == 0 {
		info, err := detector.NewFinderPatternFinder(bm, nil).Find(hints)
		if err != nil {
			return nil
		}
		infos = []*detector.FinderPatternInfo{info}
	}
	for _, in := range infos {
		tl, tr, bl := in.GetTopLeft(), in.GetTopRight(), in.GetBottomLeft()
		module := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
		// The fourth corner completes the parallelogram; finder centres sit 3.5 modules
		// inside the code, and 4 more give the quiet zone.
		xs := []float64{tl.GetX(), tr.GetX(), bl.GetX(), tr.GetX() + bl.GetX() - tl.GetX()}
		ys := []float64{tl.GetY(), tr.GetY(), bl.GetY(), tr.GetY() + bl.GetY() - tl.GetY()}
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for i := range xs {
			x0, x1 = min(x0, xs[i]), max(x1, xs[i])
			y0, y1 = min(y0, ys[i]), max(y1, ys[i])
		}
		m := 8 * module
		r := image.Rect(int(x0-m), int(y0-m), int(x1+m+1), int(y1+m+1)).Intersect(g.Rect)
		if r.Dx() < 21 || r.Dy() < 21 || r.Dx()*r.Dy()*3 > g.Rect.Dx()*g.Rect.Dy() {
			continue // too small to hold a code, or most of the page already
		}
		rs = append(rs, r)
	}
	return rs
}

// binarizer gives the hybrid (local) or global histogram binarizer over g, or nil.
func binarizer(g *image.Gray, global bool) gozxing.Binarizer {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, h, 0, 0, w, h, false)
	if err != nil {
		return nil
	}
	if global {
		return gozxing.NewGlobalHistgramBinarizer(src)
	}
	return gozxing.NewHybridBinarizer(src)
}

// blackMatrix binarizes g (hybrid: hybridMatrix, or gozxing's fallback for small
// images).
func blackMatrix(g *image.Gray, global bool) *gozxing.BitMatrix {
	if !global {
		if bm := hybridMatrix(g); bm != nil {
			return bm
		}
	}
	bin := binarizer(g, global)
	if bin == nil {
		return nil
	}
	bm, err := bin.GetBlackMatrix()
	if err != nil {
		return nil
	}
	return bm
}

// crop copies r out of g into an image whose origin is (0,0).
func crop(g *image.Gray, r image.Rectangle) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*out.Stride:y*out.Stride+r.Dx()], g.Pix[(r.Min.Y+y)*g.Stride+r.Min.X:])
	}
	return out
}

// regionAttempts are tried in order on each region cut out of the page.
var regionAttempts = []struct {
	up     int
	global bool
	smooth bool
}{{1, false, false}, {2, false, false}, {2, true, false}, {2, false, true}, {3, false, false}}

// decodeRegions decodes each code region of a page (see codeRegions) on its own, cut
// out and enlarged; points are returned in the page's pixels.
func decodeRegions(g *image.Gray, hints map[gozxing.DecodeHintType]interface{}, mats *matrices) []Code {
	if max(g.Rect.Dx(), g.Rect.Dy()) < 600 {
		return nil // a small image is its own region, and the other attempts enlarge it
	}
	var out []Code
	done := map[image.Rectangle]bool{}
	for _, global := range []bool{false, true} {
		for _, r := range codeRegions(g, global, hints, mats) {
			if done[r] {
				continue
			}
			done[r] = true
			c := crop(g, r)
			for _, a := range regionAttempts {
				img := c
				if a.up > 1 {
					img, _, _ = upBilinear(a.up, 1<<20)(c)
				}
				if a.smooth {
					img = boxBlur(img)
				}
				codes := decodeGray(img, a.global, hints, nil)
				for i := range codes {
					for j := range codes[i].Points {
						codes[i].Points[j][0] = float64(r.Min.X) + codes[i].Points[j][0]/float64(a.up)
						codes[i].Points[j][1] = float64(r.Min.Y) + codes[i].Points[j][1]/float64(a.up)
					}
				}
				if len(codes) > 0 {
					out = append(out, codes...)
					break
				}
			}
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}
