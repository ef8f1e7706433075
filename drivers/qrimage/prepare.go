package qrimage

import (
	"image"
	"image/color"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
)

// attempt is one way of preparing the page before decoding.
type attempt struct {
	name   string
	global bool // GlobalHistogram binarizer instead of Hybrid
	// packs: the preparation reads the pixels as one packed run (see packed), so a
	// decoder's padded image is packed once, before the first such attempt.
	packs   bool
	prepare func(g *image.Gray) (out *image.Gray, scale float64, ok bool)
	// decode, when set, replaces prepare and the plain decoding: it finds and
	// prepares each code's region itself and returns points in the page's pixels.
	decode func(g *image.Gray, hints map[gozxing.DecodeHintType]interface{}, mats *matrices) []Code
}

// attempts in the order tried. The order comes from BenchmarkAttempts: the plain image
// finds most codes; large scanned pages need downscaling (which also averages scanner
// noise and blur into sharper module edges); small codes need upscaling; low contrast
// needs stretching.
var attempts = []attempt{
	{name: "plain", prepare: func(g *image.Gray) (*image.Gray, float64, bool) { return g, 1, true }},
	{name: "down2", prepare: downBy(2, 1200)},
	{name: "regions", decode: decodeRegions},
	{name: "sharpen", packs: true, prepare: func(g *image.Gray) (*image.Gray, float64, bool) { return sharpen(g), 1, true }},
	{name: "deblur", packs: true, prepare: func(g *image.Gray) (*image.Gray, float64, bool) { return deblur(g), 1, true }},
	{name: "stretch", packs: true, prepare: func(g *image.Gray) (*image.Gray, float64, bool) {
		s := stretch(g)
		return s, 1, s != g // the full range already: plain decoding was this
	}},
	{name: "smooth", prepare: func(g *image.Gray) (*image.Gray, float64, bool) { return boxBlur(g), 1, true }},
	{name: "up2", prepare: upBy(2, 1000)},
	{name: "up3-bilinear", prepare: upBilinear(3, 800)},
	{name: "up3-bilinear-global", global: true, prepare: upBilinear(3, 400)},
	{name: "up4-bilinear-stretch", prepare: func(g *image.Gray) (*image.Gray, float64, bool) {
		u, s, ok := upBilinear(4, 600)(g)
		if !ok {
			return nil, 0, false
		}
		return stretch(u), s, true
	}},
	{name: "down3", prepare: downBy(3, 1800)},
	{name: "global", global: true, prepare: func(g *image.Gray) (*image.Gray, float64, bool) { return g, 1, true }},
	{name: "down4", prepare: downBy(4, 2400)},
	{name: "keystone", decode: decodeKeystone},
}

// toGray converts to 8-bit luminance with fast paths for the formats scanners write.
// A grey image, or a colour JPEG's luminance plane, at the origin is used as it is (a
// 300 dpi page is 8.7 MB: copying it was a tenth of the decode time); its rows may then
// be padded, so every preparation indexes by Stride or packs the rows first.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	if b.Min == (image.Point{}) {
		switch m := img.(type) {
		case *image.Gray:
			return m
		case *image.YCbCr:
			return &image.Gray{Pix: m.Y, Stride: m.YStride, Rect: b}
		}
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):])
		}
	case *image.YCbCr:
		for y := 0; y < b.Dy(); y++ {
			row := m.Y[m.YOffset(b.Min.X, y+b.Min.Y):]
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], row[:b.Dx()])
		}
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			p := m.Pix[m.PixOffset(b.Min.X, y+b.Min.Y):]
			d := g.Pix[y*g.Stride:]
			for x := 0; x < b.Dx(); x++ {
				r, gg, bb := uint32(p[4*x]), uint32(p[4*x+1]), uint32(p[4*x+2])
				d[x] = uint8((299*r + 587*gg + 114*bb + 500) / 1000)
			}
		}
	default:
		// Transparent pixels become white (a PNG with alpha over paper).
		white := image.NewUniform(color.White)
		draw.Draw(g, g.Rect, white, image.Point{}, draw.Src)
		draw.Draw(g, g.Rect, img, b.Min, draw.Over)
	}
	return g
}

// downBy averages k×k blocks when the longer side is at least minSide.
func downBy(k, minSide int) func(*image.Gray) (*image.Gray, float64, bool) {
	return func(g *image.Gray) (*image.Gray, float64, bool) {
		w, h := g.Rect.Dx(), g.Rect.Dy()
		if max(w, h) < minSide {
			return nil, 0, false
		}
		ow, oh := w/k, h/k
		out := image.NewGray(image.Rect(0, 0, ow, oh))
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sum := 0
				for dy := 0; dy < k; dy++ {
					row := g.Pix[(y*k+dy)*g.Stride+x*k:]
					for dx := 0; dx < k; dx++ {
						sum += int(row[dx])
					}
				}
				out.Pix[y*out.Stride+x] = uint8(sum / (k * k))
			}
		}
		return out, 1 / float64(k), true
	}
}

// upBy enlarges small images k times (nearest neighbour keeps module edges hard).
func upBy(k, maxSide int) func(*image.Gray) (*image.Gray, float64, bool) {
	return func(g *image.Gray) (*image.Gray, float64, bool) {
		w, h := g.Rect.Dx(), g.Rect.Dy()
		if max(w, h) > maxSide {
			return nil, 0, false
		}
		out := image.NewGray(image.Rect(0, 0, w*k, h*k))
		for y := 0; y < h*k; y++ {
			src := g.Pix[(y/k)*g.Stride:]
			dst := out.Pix[y*out.Stride:]
			for x := 0; x < w*k; x++ {
				dst[x] = src[x/k]
			}
		}
		return out, float64(k), true
	}
}

// stretch maps the 1st..99th luminance percentiles to 0..255 (faded print, grey paper);
// an image whose percentiles are 0 and 255 already is returned as it is.
func stretch(g *image.Gray) *image.Gray {
	g = packed(g)
	var hist [256]int
	for _, v := range g.Pix {
		hist[v]++
	}
	n := len(g.Pix)
	lo, hi, acc := 0, 255, 0
	for i := 0; i < 256; i++ {
		acc += hist[i]
		if acc > n/100 {
			lo = i
			break
		}
	}
	acc = 0
	for i := 255; i >= 0; i-- {
		acc += hist[i]
		if acc > n/100 {
			hi = i
			break
		}
	}
	if lo == 0 && hi == 255 {
		return g
	}
	out := image.NewGray(g.Rect)
	if hi <= lo {
		copy(out.Pix, g.Pix)
		return out
	}
	var lut [256]uint8
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = uint8(min(max(v, 0), 255))
	}
	for i, v := range g.Pix {
		out.Pix[i] = lut[v]
	}
	return out
}

// boxBlur is a 3×3 mean (clipped at the borders): it removes salt-and-pepper scanner
// noise that breaks finder pattern ratios. Computed separably, with the exact sum and
// count of the naive filter (boxBlurReference in the tests).
func boxBlur(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	// Horizontal sums of three (two at the ends), three rows kept in a ring.
	var rows [3][]uint16
	for i := range rows {
		rows[i] = make([]uint16, w)
	}
	hsum := func(y int, dst []uint16) {
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		if w == 1 {
			dst[0] = uint16(src[0])
			return
		}
		dst[0] = uint16(src[0]) + uint16(src[1])
		for x := 1; x < w-1; x++ {
			dst[x] = uint16(src[x-1]) + uint16(src[x]) + uint16(src[x+1])
		}
		dst[w-1] = uint16(src[w-2]) + uint16(src[w-1])
	}
	hsum(0, rows[0])
	if h > 1 {
		hsum(1, rows[1])
	}
	for y := 0; y < h; y++ {
		var a, b, c []uint16 // the rows above, at and below y (nil outside)
		b = rows[y%3]
		if y > 0 {
			a = rows[(y-1)%3]
		}
		if y+1 < h {
			if y+1 >= 2 {
				hsum(y+1, rows[(y+1)%3])
			}
			c = rows[(y+1)%3]
		}
		dst := out.Pix[y*out.Stride : y*out.Stride+w]
		if a != nil && c != nil && w > 2 { // an inner row: no border inside the loop
			a, b, c := a[:w], b[:w], c[:w]
			for x := 1; x < w-1; x++ {
				dst[x] = uint8((uint32(a[x]) + uint32(b[x]) + uint32(c[x])) / 9)
			}
			dst[0] = uint8((uint32(a[0]) + uint32(b[0]) + uint32(c[0])) / 6)
			dst[w-1] = uint8((uint32(a[w-1]) + uint32(b[w-1]) + uint32(c[w-1])) / 6)
			continue
		}
		ny := 1
		if a != nil {
			ny++
		}
		if c != nil {
			ny++
		}
		for x := range dst {
			s := uint32(b[x])
			if a != nil {
				s += uint32(a[x])
			}
			if c != nil {
				s += uint32(c[x])
			}
			nx := uint32(3)
			if w == 1 {
				nx = 1
			} else if x == 0 || x == w-1 {
				nx = 2
			}
			if nx == 3 && ny == 3 {
				dst[x] = uint8(s / 9)
			} else {
				dst[x] = uint8(s / (nx * uint32(ny)))
			}
		}
	}
	return out
}

// upBilinear enlarges small images k times with bilinear interpolation: modules of one
// or two pixels, blurred together, get edges the binarizer can find again.
func upBilinear(k, maxSide int) func(*image.Gray) (*image.Gray, float64, bool) {
	return func(g *image.Gray) (*image.Gray, float64, bool) {
		w, h := g.Rect.Dx(), g.Rect.Dy()
		if max(w, h) > maxSide || w < 2 || h < 2 {
			return nil, 0, false
		}
		ow, oh := w*k, h*k
		out := image.NewGray(image.Rect(0, 0, ow, oh))
		for y := 0; y < oh; y++ {
			fy := (float64(y)+0.5)/float64(k) - 0.5
			y0 := min(max(int(fy), 0), h-2)
			ty := min(max(fy-float64(y0), 0), 1)
			for x := 0; x < ow; x++ {
				fx := (float64(x)+0.5)/float64(k) - 0.5
				x0 := min(max(int(fx), 0), w-2)
				tx := min(max(fx-float64(x0), 0), 1)
				a := float64(g.Pix[y0*g.Stride+x0])
				b := float64(g.Pix[y0*g.Stride+x0+1])
				c := float64(g.Pix[(y0+1)*g.Stride+x0])
				d := float64(g.Pix[(y0+1)*g.Stride+x0+1])
				v := (a*(1-tx)+b*tx)*(1-ty) + (c*(1-tx)+d*tx)*ty
				out.Pix[y*out.Stride+x] = uint8(v + 0.5)
			}
		}
		return out, float64(k), true
	}
}

// sharpen is an unsharp mask (the image plus its difference from the 3×3 mean): a
// dense code at two pixels a module, softened by the scanner's optics and JPEG, gets
// its module edges back.
func sharpen(g *image.Gray) *image.Gray {
	g = packed(g)
	out := boxBlur(g) // overwritten in place by the sharpened pixels
	for i, v := range g.Pix {
		s := 2*int(v) - int(out.Pix[i])
		out.Pix[i] = uint8(min(max(s, 0), 255))
	}
	return out
}

// deblur is a strong unsharp mask against a 5×5 mean (amount 3): measured on codes of
// 3–4 pixels a module under a Gaussian blur of sigma 2, which no plain binarizer reads.
func deblur(g *image.Gray) *image.Gray {
	g = packed(g)
	m := boxMean(g, 2) // overwritten in place by the deblurred pixels
	for i, v := range g.Pix {
		s := int(v) + 3*(int(v)-int(m[i]))
		m[i] = uint8(min(max(s, 0), 255))
	}
	return &image.Gray{Pix: m, Stride: g.Rect.Dx(), Rect: image.Rect(0, 0, g.Rect.Dx(), g.Rect.Dy())}
}

// boxMean is the mean over a (2r+1)×(2r+1) window (clipped at the borders), computed
// separably with running sums over a ring of 2r+1 rows; it returns one value per
// pixel, row by row.
func boxMean(g *image.Gray, r int) []uint8 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	k := 2*r + 1
	recip := make([]uint64, k+1)
	for n := 1; n <= k; n++ {
		recip[n] = reciprocal(n)
	}
	// rowMeans writes row y's horizontal window sums ×8 / count (16 bits).
	rowMeans := func(y int, dst []uint16) {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		s := 0
		for x := 0; x < min(r, w); x++ {
			s += int(row[x])
		}
		x := 0
		edge := func() {
			if x+r < w {
				s += int(row[x+r])
			}
			if x-r-1 >= 0 {
				s -= int(row[x-r-1])
			}
			n := min(x+r, w-1) - max(x-r, 0) + 1
			dst[x] = uint16(uint64(s*8) * recip[n] >> 32)
		}
		for ; x <= r && x < w; x++ {
			edge()
		}
		m := recip[k]
		for ; x < w-r; x++ { // the whole window inside the row
			s += int(row[x+r]) - int(row[x-r-1])
			dst[x] = uint16(uint64(s*8) * m >> 32)
		}
		for ; x < w; x++ {
			edge()
		}
	}
	ring := make([]uint16, k*w)
	slot := func(y int) []uint16 { return ring[(y%k)*w : (y%k+1)*w] }
	out := make([]uint8, w*h)
	sums := make([]int, w)
	for y := 0; y < min(r, h); y++ {
		rowMeans(y, slot(y))
		for x, v := range slot(y) {
			sums[x] += int(v)
		}
	}
	for y := 0; y < h; y++ {
		// Row y+r takes the slot of row y-r-1, which leaves the window.
		sl := slot(y + r)
		if y-r-1 >= 0 {
			for x, v := range sl {
				sums[x] -= int(v)
			}
		}
		if y+r < h {
			rowMeans(y+r, sl)
			for x, v := range sl {
				sums[x] += int(v)
			}
		}
		m := reciprocal(8 * (min(y+r, h-1) - max(y-r, 0) + 1))
		dst := out[y*w : (y+1)*w]
		for x := range dst {
			dst[x] = uint8(uint64(sums[x]) * m >> 32)
		}
	}
	return out
}

// reciprocal gives m such that v*m>>32 is v/d for every v the box filters divide
// (below 2^20): multiplying is several times faster than dividing by a variable.
func reciprocal(d int) uint64 {
	return (1<<32 + uint64(d) - 1) / uint64(d)
}

// packed returns g with its rows back to back at the origin, copying only when they
// are not (a decoder's image with padded rows).
func packed(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if g.Stride == w && g.Rect.Min == (image.Point{}) && len(g.Pix) == w*h {
		return g
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w:(y+1)*w], g.Pix[y*g.Stride:])
	}
	return out
}
