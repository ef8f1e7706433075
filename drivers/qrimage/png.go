package qrimage

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

// The PNG reader here decodes straight to 8-bit grey, a row at a time: image/png
// builds the full-depth image first (a 16-bit grey+alpha A4 page, as ImageMagick
// writes a page with a rotated code pasted on it, becomes 70 MB of NRGBA64 set pixel
// by pixel, then image/draw composites it over white pixel by pixel: 0.5 s of a 0.6 s
// decode). Interlaced files are left to image/png.

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// errPNGInterlaced: the file is valid but interlaced; image/png decodes it.
var errPNGInterlaced = errors.New("interlaced PNG")

// pngHeader is the IHDR chunk.
type pngHeader struct {
	width, height int
	depth         int // bits per sample
	colorType     int // 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
	interlace     int
}

func (h pngHeader) channels() int {
	switch h.colorType {
	case 0, 3:
		return 1
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 0
}

// pngChunks walks the chunks after the signature: f gets each chunk's type and data
// (CRC checked) until it returns false or IEND is reached.
func pngChunks(b []byte, f func(typ string, data []byte) (more bool, err error)) error {
	if !bytes.HasPrefix(b, pngSignature) {
		return errors.New("not a PNG")
	}
	b = b[len(pngSignature):]
	for {
		if len(b) < 12 {
			return io.ErrUnexpectedEOF
		}
		n := binary.BigEndian.Uint32(b)
		if n > 0x7fffffff || uint64(n)+12 > uint64(len(b)) {
			return io.ErrUnexpectedEOF
		}
		typ, data := string(b[4:8]), b[8:8+n]
		if crc32.ChecksumIEEE(b[4:8+n]) != binary.BigEndian.Uint32(b[8+n:]) {
			return fmt.Errorf("chunk %q: bad CRC", typ)
		}
		b = b[12+n:]
		more, err := f(typ, data)
		if err != nil || !more || typ == "IEND" {
			return err
		}
	}
}

// pngConfig reads the header of a PNG.
func pngConfig(b []byte) (pngHeader, error) {
	var h pngHeader
	err := pngChunks(b, func(typ string, d []byte) (bool, error) {
		if typ != "IHDR" || len(d) != 13 {
			return false, errors.New("first chunk is not IHDR")
		}
		h.width, h.height = int(binary.BigEndian.Uint32(d)), int(binary.BigEndian.Uint32(d[4:]))
		h.depth, h.colorType, h.interlace = int(d[8]), int(d[9]), int(d[12])
		return false, nil
	})
	if err != nil {
		return h, err
	}
	ok := false
	switch h.colorType {
	case 0:
		ok = h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8 || h.depth == 16
	case 3:
		ok = h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8
	case 2, 4, 6:
		ok = h.depth == 8 || h.depth == 16
	}
	if !ok || h.width <= 0 || h.height <= 0 || h.width > 1<<24 || h.height > 1<<24 || h.interlace > 1 {
		return h, fmt.Errorf("bad IHDR: %dx%d, depth %d, colour type %d", h.width, h.height, h.depth, h.colorType)
	}
	return h, nil
}

// idatReader reads the concatenated IDAT chunks.
type idatReader struct{ parts [][]byte }

func (r *idatReader) Read(p []byte) (int, error) {
	for len(r.parts) > 0 && len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

// decodePNGGray decodes a PNG whose header h has been checked against the pixel cap
// into 8-bit luminance; transparent pixels become white (paper).
func decodePNGGray(b []byte, h pngHeader) (*image.Gray, error) {
	if h.interlace != 0 {
		return nil, errPNGInterlaced
	}
	var palette []byte // grey value per index, alpha applied
	var trns []byte
	idat := &idatReader{}
	seenIHDR := false
	err := pngChunks(b, func(typ string, d []byte) (bool, error) {
		switch typ {
		case "IHDR":
			seenIHDR = true
		case "PLTE":
			if len(d)%3 != 0 || len(d) > 3*256 {
				return false, errors.New("bad PLTE")
			}
			palette = make([]byte, 256) // indices past the palette are opaque black
			for i := 0; i < len(d)/3; i++ {
				palette[i] = luma(d[3*i], d[3*i+1], d[3*i+2])
			}
		case "tRNS":
			trns = d
		case "IDAT":
			idat.parts = append(idat.parts, d)
		}
		return seenIHDR, nil
	})
	if err != nil {
		return nil, err
	}
	if h.colorType == 3 {
		if palette == nil {
			return nil, errors.New("palette image without PLTE")
		}
		for i, a := range trns {
			if i < 256 {
				palette[i] = overWhite(palette[i], a)
			}
		}
	}
	// A grey or RGB image's tRNS names one fully transparent colour.
	key, keyed := -1, false
	if (h.colorType == 0 && len(trns) == 2) || (h.colorType == 2 && len(trns) == 6) {
		keyed = true
		if h.colorType == 0 {
			key = int(binary.BigEndian.Uint16(trns))
		}
	}
	zr, err := zlib.NewReader(idat)
	if err != nil {
		return nil, fmt.Errorf("IDAT: %w", err)
	}
	defer zr.Close()
	bitsPP := h.depth * h.channels()
	bpp := max(bitsPP/8, 1) // filter distance in bytes
	rowBytes := (h.width*bitsPP + 7) / 8
	cur, prev := make([]byte, rowBytes+1), make([]byte, rowBytes+1)
	out := image.NewGray(image.Rect(0, 0, h.width, h.height))
	for y := 0; y < h.height; y++ {
		if _, err := io.ReadFull(zr, cur); err != nil {
			return nil, fmt.Errorf("IDAT row %d: %w", y, err)
		}
		if err := unfilter(cur[0], cur[1:], prev[1:], bpp); err != nil {
			return nil, err
		}
		row, dst := cur[1:], out.Pix[y*out.Stride:y*out.Stride+h.width]
		switch {
		case h.colorType == 0 && h.depth == 8 && !keyed:
			copy(dst, row)
		case h.colorType == 0 && h.depth == 16:
			for x := range dst {
				v := int(row[2*x])<<8 | int(row[2*x+1])
				if v == key {
					dst[x] = 255
				} else {
					dst[x] = row[2*x]
				}
			}
		case h.colorType == 0 || h.colorType == 3:
			lowDepth(dst, row, h, palette, key)
		case h.colorType == 4:
			step := 2 * h.depth / 8 // bytes per pixel; the high byte comes first
			for x := range dst {
				dst[x] = overWhite(row[step*x], row[step*x+step/2])
			}
		case h.colorType == 2:
			step := 3 * h.depth / 8
			o := h.depth / 8
			for x := range dst {
				p := row[step*x:]
				dst[x] = luma(p[0], p[o], p[2*o])
				if keyed && bytes.Equal(p[:step], trnsRGB(trns, h.depth)) {
					dst[x] = 255
				}
			}
		case h.colorType == 6:
			step := 4 * h.depth / 8
			o := h.depth / 8
			for x := range dst {
				p := row[step*x:]
				dst[x] = overWhite(luma(p[0], p[o], p[2*o]), p[3*o])
			}
		}
		cur, prev = prev, cur
	}
	return out, nil
}

// trnsRGB is the transparent colour of an RGB image in the row's byte layout.
func trnsRGB(trns []byte, depth int) []byte {
	if depth == 16 {
		return trns
	}
	return []byte{trns[1], trns[3], trns[5]}
}

// lowDepth converts a row of grey (1, 2, 4 or 8 bits, with a transparent key) or
// palette indices.
func lowDepth(dst, row []byte, h pngHeader, palette []byte, key int) {
	d := h.depth
	per := 8 / d
	mask := byte(1<<d - 1)
	scale := byte(255 / (1<<d - 1))
	for x := range dst {
		v := row[x/per] >> (8 - d*(x%per+1)) & mask
		switch {
		case h.colorType == 3:
			dst[x] = palette[v]
		case int(v) == key:
			dst[x] = 255
		default:
			dst[x] = v * scale
		}
	}
}

// unfilter undoes a row's PNG filter in place, given the previous row (zeros above
// the first).
func unfilter(f byte, cur, prev []byte, bpp int) error {
	switch f {
	case 0:
	case 1:
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2:
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3:
		for i := 0; i < bpp; i++ {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += byte((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4:
		for i := 0; i < bpp; i++ {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			a, b, c := int(cur[i-bpp]), int(prev[i]), int(prev[i-bpp])
			p := a + b - c
			pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
			switch {
			case pa <= pb && pa <= pc:
				cur[i] += byte(a)
			case pb <= pc:
				cur[i] += byte(b)
			default:
				cur[i] += byte(c)
			}
		}
	default:
		return fmt.Errorf("bad PNG filter type %d", f)
	}
	return nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// luma is the luminance of an RGB colour (BT.601 weights, as toGray).
func luma(r, g, b byte) byte {
	return uint8((299*uint32(r) + 587*uint32(g) + 114*uint32(b) + 500) / 1000)
}

// overWhite composites a grey value with alpha a over white paper.
func overWhite(v, a byte) byte {
	return uint8((uint32(v)*uint32(a) + 255*(255-uint32(a)) + 127) / 255)
}
