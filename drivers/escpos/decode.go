package escpos

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// Limits on what Decode accepts, so hostile bytes cannot make it allocate much.
const (
	maxDecodeWidthBytes = 256  // 2048 dots
	maxDecodeRows       = 6000 // about 75 cm of paper
	feedRows            = 24   // one line feed in dots
)

// ErrTruncated means a command stopped before its parameters or data ended.
var ErrTruncated = errors.New("escpos: truncated command")

// Job is one printed ticket found in a stream: the paper as an image, and whether the
// stream cut it.
type Job struct {
	Image *image.Gray
	Cut   bool
	// Statuses lists the DLE EOT queries the stream made (their n).
	Statuses []byte
}

type streamDecoder struct {
	b      []byte
	i      int
	width  int // dots
	align  byte
	rows   []image.Image // stacked top to bottom
	height int
	qr     struct {
		data   []byte
		module byte
		ec     byte
	}
}

// Decode reads the command stream this package writes (and the common commands around
// it) and returns the jobs it prints, each ending at a cut. width is the paper width in
// dots used when the stream's first picture does not say (0 for 576).
func Decode(b []byte, width int) ([]Job, error) {
	if width <= 0 {
		width = Width80
	}
	d := &streamDecoder{b: b, width: width}
	d.qr.module, d.qr.ec = 3, 49
	var jobs []Job
	var statuses []byte
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == esc:
			if err := d.escape(); err != nil {
				return jobs, err
			}
		case c == gs:
			cut, err := d.group()
			if err != nil {
				return jobs, err
			}
			if cut {
				jobs = append(jobs, Job{Image: d.paper(), Cut: true, Statuses: statuses})
				d.rows, d.height, statuses = nil, 0, nil
			}
		case c == dle:
			if d.i+2 >= len(d.b) {
				return jobs, ErrTruncated
			}
			if d.b[d.i+1] != eot {
				return jobs, fmt.Errorf("escpos: offset %d: unknown DLE command %#x", d.i, d.b[d.i+1])
			}
			statuses = append(statuses, d.b[d.i+2])
			d.i += 3
		case c == lf:
			d.blank(feedRows)
			d.i++
		case c == '\r' || c == 0:
			d.i++
		default:
			return jobs, fmt.Errorf("escpos: offset %d: text byte %#x (this decoder reads raster output only)", d.i, c)
		}
		if d.height > maxDecodeRows {
			return jobs, fmt.Errorf("escpos: more than %d rows of paper", maxDecodeRows)
		}
	}
	if len(d.rows) > 0 {
		jobs = append(jobs, Job{Image: d.paper(), Statuses: statuses})
	} else if len(statuses) > 0 {
		jobs = append(jobs, Job{Statuses: statuses})
	}
	return jobs, nil
}

func (d *streamDecoder) need(n int) error {
	if d.i+n > len(d.b) {
		return ErrTruncated
	}
	return nil
}

func (d *streamDecoder) blank(rows int) {
	img := image.NewGray(image.Rect(0, 0, d.width, rows))
	fill(img, 255)
	d.rows = append(d.rows, img)
	d.height += rows
}

func (d *streamDecoder) escape() error {
	if err := d.need(2); err != nil {
		return err
	}
	switch d.b[d.i+1] {
	case '@':
		d.align = 0
		d.i += 2
	case '2': // default line spacing, no parameter
		d.i += 2
	case 'a', 'd', 't', '!', 'E', '3', 'J':
		if err := d.need(3); err != nil {
			return err
		}
		n := d.b[d.i+2]
		switch d.b[d.i+1] {
		case 'a':
			d.align = n % 3
		case 'd':
			d.blank(int(n) * feedRows)
		case 'J':
			d.blank(int(n))
		}
		d.i += 3
	default:
		return fmt.Errorf("escpos: offset %d: unknown ESC command %#x", d.i, d.b[d.i+1])
	}
	return nil
}

// group reads one GS command; it reports whether it was a cut.
func (d *streamDecoder) group() (bool, error) {
	if err := d.need(2); err != nil {
		return false, err
	}
	switch d.b[d.i+1] {
	case 'V':
		if err := d.need(3); err != nil {
			return false, err
		}
		m := d.b[d.i+2]
		d.i += 3
		if m == 65 || m == 66 || m == 97 || m == 98 || m == 103 || m == 104 {
			if err := d.need(1); err != nil {
				return false, err
			}
			d.i++
		}
		return true, nil
	case 'v':
		return false, d.raster()
	case '(':
		return false, d.qrFunction()
	default:
		return false, fmt.Errorf("escpos: offset %d: unknown GS command %#x", d.i, d.b[d.i+1])
	}
}

func (d *streamDecoder) raster() error {
	if err := d.need(8); err != nil {
		return err
	}
	h := d.b[d.i : d.i+8]
	if h[2] != '0' && h[2] != 0 {
		return fmt.Errorf("escpos: offset %d: unknown GS v function %#x", d.i, h[2])
	}
	xBytes := int(h[4]) | int(h[5])<<8
	rows := int(h[6]) | int(h[7])<<8
	if xBytes == 0 || xBytes > maxDecodeWidthBytes || rows > maxDecodeRows {
		return fmt.Errorf("escpos: offset %d: raster %d bytes x %d rows out of bounds", d.i, xBytes, rows)
	}
	d.i += 8
	if err := d.need(xBytes * rows); err != nil {
		return err
	}
	if len(d.rows) == 0 && d.height == 0 {
		d.width = max(d.width, xBytes*8)
	}
	img := image.NewGray(image.Rect(0, 0, xBytes*8, rows))
	for y := 0; y < rows; y++ {
		for x := 0; x < xBytes*8; x++ {
			if d.b[d.i+y*xBytes+x/8]&(0x80>>(x%8)) != 0 {
				img.SetGray(x, y, color.Gray{0})
			} else {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	d.i += xBytes * rows
	if img.Bounds().Dx() < d.width {
		img = d.aligned(img)
	}
	d.rows = append(d.rows, img)
	d.height += rows
	return nil
}

func (d *streamDecoder) qrFunction() error {
	if err := d.need(5); err != nil {
		return err
	}
	if d.b[d.i+2] != 'k' {
		return fmt.Errorf("escpos: offset %d: unknown GS ( function %q", d.i, d.b[d.i+2])
	}
	n := int(d.b[d.i+3]) | int(d.b[d.i+4])<<8
	d.i += 5
	if err := d.need(n); err != nil {
		return err
	}
	body := d.b[d.i : d.i+n]
	d.i += n
	if n < 3 || body[0] != '1' {
		return nil // another symbology: not ours, skip
	}
	switch body[1] {
	case 'C':
		if body[2] < 1 || body[2] > 16 {
			return fmt.Errorf("escpos: QR module size %d out of 1..16", body[2])
		}
		d.qr.module = body[2]
	case 'E':
		d.qr.ec = body[2]
	case 'P':
		d.qr.data = append([]byte(nil), body[3:]...)
	case 'Q':
		img, err := qrImage(d.qr.data, int(d.qr.module), d.qr.ec)
		if err != nil {
			return fmt.Errorf("escpos: print stored QR: %w", err)
		}
		if img.Bounds().Dx() > d.width {
			return fmt.Errorf("escpos: QR %d dots wide on %d dot paper", img.Bounds().Dx(), d.width)
		}
		d.rows = append(d.rows, d.aligned(img))
		d.height += img.Bounds().Dy()
	}
	return nil
}

// aligned places a picture narrower than the paper by the current justification.
func (d *streamDecoder) aligned(p *image.Gray) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, d.width, p.Bounds().Dy()))
	fill(img, 255)
	x := 0
	switch d.align {
	case 1:
		x = (d.width - p.Bounds().Dx()) / 2
	case 2:
		x = d.width - p.Bounds().Dx()
	}
	draw.Draw(img, p.Bounds().Add(image.Pt(x, 0)), p, image.Point{}, draw.Src)
	return img
}

// paper stacks the rows into one image of the paper width.
func (d *streamDecoder) paper() *image.Gray {
	img := image.NewGray(image.Rect(0, 0, d.width, d.height))
	fill(img, 255)
	y := 0
	for _, r := range d.rows {
		draw.Draw(img, r.Bounds().Add(image.Pt(0, y)), r, r.Bounds().Min, draw.Src)
		y += r.Bounds().Dy()
	}
	return img
}
