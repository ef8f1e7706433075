package qrimage

import (
	"image"

	"github.com/makiuchi-d/gozxing"
)

// hybridMatrix binarizes g with local thresholds, pixel for pixel as gozxing's
// HybridBinarizer does (TestHybridMatrixSame holds it to that), in a fraction of the
// time: binarizing was a quarter of the CPU time spent on the page corpus. Each 8×8
// block gets a black point (its mean; for a flat block half its minimum, or its
// neighbours' when darker than that), and its pixels are black at or below the mean
// black point of the 5×5 blocks around it. Images under 40 pixels a side give nil
// (gozxing falls back to its global histogram there).
func hybridMatrix(g *image.Gray) *gozxing.BitMatrix {
	const block, flat = 8, 24
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w < 5*block || h < 5*block {
		return nil
	}
	sw, sh := (w+block-1)/block, (h+block-1)/block
	// The last block of a row or column is moved back inside the image.
	at := func(b, size int) int { return min(b*block, size-block) }
	bp := make([]int, sw*sh)
	for by := 0; by < sh; by++ {
		y0 := at(by, h)
		for bx := 0; bx < sw; bx++ {
			x0 := at(bx, w)
			sum, lo, hi := 0, 255, 0
			for yy := 0; yy < block; yy++ {
				off := (y0+yy)*g.Stride + x0
				for _, v := range g.Pix[off : off+block] {
					p := int(v)
					sum += p
					lo, hi = min(lo, p), max(hi, p)
				}
			}
			black := sum / (block * block)
			if hi-lo <= flat {
				black = lo / 2
				if by > 0 && bx > 0 {
					if nb := (bp[(by-1)*sw+bx] + 2*bp[by*sw+bx-1] + bp[(by-1)*sw+bx-1]) / 4; lo < nb {
						black = nb
					}
				}
			}
			bp[by*sw+bx] = black
		}
	}
	rowWords := (w + 31) / 32
	words := make([]uint32, rowWords*h)
	for by := 0; by < sh; by++ {
		y0, top := at(by, h), min(max(by, 2), sh-3)
		for bx := 0; bx < sw; bx++ {
			x0, left := at(bx, w), min(max(bx, 2), sw-3)
			s := 0
			for z := top - 2; z <= top+2; z++ {
				r := bp[z*sw+left-2 : z*sw+left+3]
				s += r[0] + r[1] + r[2] + r[3] + r[4]
			}
			t := s / 25
			for yy := 0; yy < block; yy++ {
				off := (y0+yy)*g.Stride + x0
				wrow := words[(y0+yy)*rowWords : (y0+yy+1)*rowWords]
				for xx, v := range g.Pix[off : off+block] {
					if int(v) <= t {
						x := x0 + xx
						wrow[x>>5] |= 1 << (x & 31)
					}
				}
			}
		}
	}
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil
	}
	row := gozxing.NewBitArray(w)
	for y := 0; y < h; y++ {
		copy(row.GetBitArray(), words[y*rowWords:(y+1)*rowWords])
		m.SetRow(y, row)
	}
	return m
}
