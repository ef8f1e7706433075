package qrimage

import (
	"image"
	"math"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// decodeKeystone is for codes photographed at a slant: gozxing finds their finder
// patterns but refuses them as "module size too different" (the far side's modules
// are smaller). From three candidate finder patterns (top-left, top-right,
// bottom-left), the fourth corner is estimated with the far side shortened in
// proportion to the module sizes, and the code is resampled square (three pixels a
// module) for gozxing to read.
func decodeKeystone(g *image.Gray, hints map[gozxing.DecodeHintType]interface{}, mats *matrices) (out []Code) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	bm := mats.get(g, false)
	if bm == nil {
		return nil
	}
	f := detector.NewFinderPatternFinder(bm, nil)
	f.Find(hints) // fails on these codes; its candidates are what we want
	cs := f.GetPossibleCenters()
	sort.Slice(cs, func(i, j int) bool { return cs[i].GetCount() > cs[j].GetCount() })
	if len(cs) > 6 {
		cs = cs[:6]
	}
	tried := 0
	for i := 0; i < len(cs) && tried < 4; i++ {
		for j := i + 1; j < len(cs) && tried < 4; j++ {
			for k := j + 1; k < len(cs) && tried < 4; k++ {
				img, ok := rectify(g, cs[i], cs[j], cs[k])
				if !ok {
					continue
				}
				tried++
				for _, global := range []bool{false, true} {
					if codes := decodeGray(img, global, hints, nil); len(codes) > 0 {
						for n := range codes {
							codes[n].Points = nil // in the rectified image, not the page
						}
						return codes
					}
				}
			}
		}
	}
	return nil
}

// rectify resamples the code whose finder patterns are ps, when they can be one code's
// (a corner near a right angle, sides of similar length, at least 14 modules).
func rectify(g *image.Gray, ps ...*detector.FinderPattern) (*image.Gray, bool) {
	for c := range 3 {
		o, a, b := ps[c], ps[(c+1)%3], ps[(c+2)%3]
		mo, ma, mb := o.GetEstimatedModuleSize(), a.GetEstimatedModuleSize(), b.GetEstimatedModuleSize()
		ax, ay := a.GetX()-o.GetX(), a.GetY()-o.GetY()
		bx, by := b.GetX()-o.GetX(), b.GetY()-o.GetY()
		la, lb := math.Hypot(ax, ay), math.Hypot(bx, by)
		m := max(mo, ma, mb)
		if la < 14*m || lb < 14*m || la > 2*lb || lb > 2*la {
			continue
		}
		if cos := (ax*bx + ay*by) / (la * lb); math.Abs(cos) > 0.5 {
			continue
		}
		if ax*by-ay*bx < 0 { // a clockwise from b: a is top-right, b bottom-left
			a, b, ma, mb, ax, ay, bx, by = b, a, mb, ma, bx, by, ax, ay
		}
		// The fourth centre: each far side shortened by its module-size ratio.
		d1x, d1y := a.GetX()+bx*ma/mo, a.GetY()+by*ma/mo
		d2x, d2y := b.GetX()+ax*mb/mo, b.GetY()+ay*mb/mo
		dx, dy := (d1x+d2x)/2, (d1y+d2y)/2
		dim := (la+lb)/2/mo + 7 // modules between the outer edges
		const px = 3
		span := (dim - 7) * px // between finder centres in the output
		margin := 7.5 * px     // centre to the outer edge, plus the quiet zone
		size := int(span + 2*margin + 0.5)
		if size < 21*px || size > 4000 {
			continue
		}
		q := [4][2]float64{{o.GetX(), o.GetY()}, {b.GetX(), b.GetY()}, {dx, dy}, {a.GetX(), a.GetY()}}
		return warpCentres(g, q, size, margin, span), true
	}
	return nil, false
}

// warpCentres resamples g into a size×size image in which the quadrilateral q
// (top-left, top-right, bottom-right, bottom-left) becomes the square of side span at
// margin from the top-left corner (bilinear, white outside g).
func warpCentres(g *image.Gray, q [4][2]float64, size int, margin, span float64) *image.Gray {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx1, dx2, dx3 := x1-x2, x3-x2, x0-x1+x2-x3
	dy1, dy2, dy3 := y1-y2, y3-y2, y0-y1+y2-y3
	var gg, hh float64
	if den := dx1*dy2 - dx2*dy1; den != 0 && (dx3 != 0 || dy3 != 0) {
		gg = (dx3*dy2 - dx2*dy3) / den
		hh = (dx1*dy3 - dx3*dy1) / den
	}
	a, b, c := x1-x0+gg*x1, x3-x0+hh*x3, x0
	d, e, f := y1-y0+gg*y1, y3-y0+hh*y3, y0
	out := image.NewGray(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		v := (float64(y) + 0.5 - margin) / span
		for x := 0; x < size; x++ {
			u := (float64(x) + 0.5 - margin) / span
			z := gg*u + hh*v + 1
			out.Pix[y*out.Stride+x] = sample(g, (a*u+b*v+c)/z-0.5, (d*u+e*v+f)/z-0.5)
		}
	}
	return out
}

// sample reads g at a fractional position (bilinear), white outside.
func sample(g *image.Gray, x, y float64) uint8 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	ix, iy := int(math.Floor(x)), int(math.Floor(y))
	if ix < 0 || iy < 0 || ix+1 >= w || iy+1 >= h {
		return 255
	}
	tx, ty := x-float64(ix), y-float64(iy)
	p := g.Pix[iy*g.Stride+ix:]
	q := g.Pix[(iy+1)*g.Stride+ix:]
	v := (float64(p[0])*(1-tx)+float64(p[1])*tx)*(1-ty) + (float64(q[0])*(1-tx)+float64(q[1])*tx)*ty
	return uint8(v + 0.5)
}
