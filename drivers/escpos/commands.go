package escpos

import (
	"bytes"
	"image"
)

// The ESC/POS commands this package sends (and its decoder reads back).
const (
	esc = 0x1B
	gs  = 0x1D
	dle = 0x10
	eot = 0x04
	lf  = 0x0A
)

// rasterBand is the most rows one GS v 0 command carries: some printers' buffers are
// small, so tall images go as several bands.
const rasterBand = 128

// Writer builds a command stream.
type Writer struct{ b bytes.Buffer }

// Init resets the printer (ESC @).
func (w *Writer) Init() { w.b.Write([]byte{esc, '@'}) }

// Align sets justification: 0 left, 1 centre, 2 right (ESC a n).
func (w *Writer) Align(n byte) { w.b.Write([]byte{esc, 'a', n}) }

// Feed prints and feeds n lines (ESC d n).
func (w *Writer) Feed(n byte) { w.b.Write([]byte{esc, 'd', n}) }

// Cut feeds to the cutter and cuts partially (GS V 66 0).
func (w *Writer) Cut() { w.b.Write([]byte{gs, 'V', 66, 0}) }

// Raster sends a picture as 1-bit raster bands (GS v 0, normal density); a pixel darker
// than mid-grey prints.
func (w *Writer) Raster(img *image.Gray) {
	b := img.Bounds()
	rowBytes := (b.Dx() + 7) / 8
	for y0 := b.Min.Y; y0 < b.Max.Y; y0 += rasterBand {
		rows := min(rasterBand, b.Max.Y-y0)
		w.b.Write([]byte{gs, 'v', '0', 0, byte(rowBytes), byte(rowBytes >> 8), byte(rows), byte(rows >> 8)})
		row := make([]byte, rowBytes)
		for y := y0; y < y0+rows; y++ {
			clear(row)
			for x := b.Min.X; x < b.Max.X; x++ {
				if img.GrayAt(x, y).Y < 128 {
					i := x - b.Min.X
					row[i/8] |= 0x80 >> (i % 8)
				}
			}
			w.b.Write(row)
		}
	}
}

// QR prints data as a QR code drawn by the printer (GS ( k, model 2), centred.
func (w *Writer) QR(data []byte, module, ecLevel byte) {
	w.Align(1)
	fn := func(body ...byte) {
		n := len(body)
		w.b.Write([]byte{gs, '(', 'k', byte(n), byte(n >> 8)})
		w.b.Write(body)
	}
	fn('1', 'A', '2', 0)                          // function 165: model 2
	fn('1', 'C', module)                          // function 167: module size
	fn('1', 'E', ecLevel)                         // function 169: error correction
	fn(append([]byte{'1', 'P', '0'}, data...)...) // function 180: store
	fn('1', 'Q', '0')                             // function 181: print
	w.Align(0)
}

// Bytes is the stream so far.
func (w *Writer) Bytes() []byte { return w.b.Bytes() }
