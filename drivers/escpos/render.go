// Package escpos turns a queue ticket into ESC/POS bytes for 58 mm and 80 mm thermal
// printers, sends them over a serial port, a USB printer device, raw TCP 9100 or a
// file, reads the paper status (DLE EOT), and decodes its own bytes back into an image
// (for `ticket render` and for tests).
//
// Vietnamese text is drawn with an embedded DejaVu Sans font and sent as a raster image
// (GS v 0), so any printer prints every letter and tone mark. The package knows
// nothing of queues or citizens: it prints what it is given and must never log it.
package escpos

import (
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

//go:embed fonts/DejaVuSans.ttf
var regularTTF []byte

//go:embed fonts/DejaVuSans-Bold.ttf
var boldTTF []byte

// Paper widths in dots at 203 dpi.
const (
	Width58 = 384
	Width80 = 576
)

// Ticket is what one printed ticket says.
type Ticket struct {
	Office      string
	Service     string
	Number      int
	Priority    bool
	Issued      time.Time
	Ahead       int
	EstimateMin int
	StatusURL   string   // encoded in the QR; empty prints no QR
	Counters    []string // the counters that serve the service
	Location    string
}

// Options choose how a ticket is printed.
type Options struct {
	// Width is the printable width in dots: Width58 or Width80.
	Width int
	// NativeQR sends the QR as GS ( k for the printer to draw; otherwise it is part of
	// the raster image.
	NativeQR bool
}

var (
	fontsOnce           sync.Once
	regularFont, boldFt *opentype.Font
	fontErr             error
)

func loadFonts() error {
	fontsOnce.Do(func() {
		if regularFont, fontErr = opentype.Parse(regularTTF); fontErr != nil {
			return
		}
		boldFt, fontErr = opentype.Parse(boldTTF)
	})
	return fontErr
}

// canvas stacks lines of text and pictures of one width, top to bottom.
type canvas struct {
	img   *image.Gray
	y     int
	faces map[[2]int]font.Face
}

func newCanvas(width int) *canvas {
	img := image.NewGray(image.Rect(0, 0, width, 3000))
	fill(img, 255)
	return &canvas{img: img, faces: map[[2]int]font.Face{}}
}

func (c *canvas) face(bold bool, px int) (font.Face, error) {
	k := [2]int{px, 0}
	if bold {
		k[1] = 1
	}
	if f, ok := c.faces[k]; ok {
		return f, nil
	}
	ft := regularFont
	if bold {
		ft = boldFt
	}
	f, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("font face %dpx: %w", px, err)
	}
	c.faces[k] = f
	return f, nil
}

// text draws s centred, wrapped at word boundaries to the width.
func (c *canvas) text(s string, bold bool, px int) error {
	f, err := c.face(bold, px)
	if err != nil {
		return err
	}
	width := c.img.Bounds().Dx() - 16
	m := f.Metrics()
	lineH := (m.Ascent + m.Descent).Ceil() + px/6
	for _, line := range wrap(f, s, width) {
		adv := font.MeasureString(f, line).Ceil()
		d := font.Drawer{Dst: c.img, Src: image.Black, Face: f,
			Dot: fixed.P((c.img.Bounds().Dx()-adv)/2, c.y+m.Ascent.Ceil()+px/12)}
		if c.y+lineH > c.img.Bounds().Dy() {
			return errors.New("ticket too long")
		}
		d.DrawString(line)
		c.y += lineH
	}
	return nil
}

func wrap(f font.Face, s string, width int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		words := strings.Fields(para)
		cur := ""
		for _, w := range words {
			try := w
			if cur != "" {
				try = cur + " " + w
			}
			if cur != "" && font.MeasureString(f, try).Ceil() > width {
				lines = append(lines, cur)
				cur = w
				continue
			}
			cur = try
		}
		if cur != "" {
			lines = append(lines, cur)
		}
	}
	return lines
}

func (c *canvas) rule() {
	for x := 8; x < c.img.Bounds().Dx()-8; x++ {
		c.img.SetGray(x, c.y+6, color.Gray{0})
		c.img.SetGray(x, c.y+7, color.Gray{0})
	}
	c.y += 16
}

func (c *canvas) picture(p *image.Gray) {
	x := (c.img.Bounds().Dx() - p.Bounds().Dx()) / 2
	draw.Draw(c.img, p.Bounds().Add(image.Pt(x, c.y)), p, p.Bounds().Min, draw.Src)
	c.y += p.Bounds().Dy()
}

func (c *canvas) crop() *image.Gray {
	return c.img.SubImage(image.Rect(0, 0, c.img.Bounds().Dx(), c.y)).(*image.Gray)
}

// The QR is drawn the same way by the raster fallback and by the decoder of GS ( k,
// so both print paths look alike.
const (
	qrModule     = 6
	qrQuietZone  = 2
	qrErrorLevel = 49 // 'M' in GS ( k function 169
)

func qrECLevel(n byte) decoder.ErrorCorrectionLevel {
	switch n {
	case 48:
		return decoder.ErrorCorrectionLevel_L
	case 50:
		return decoder.ErrorCorrectionLevel_Q
	case 51:
		return decoder.ErrorCorrectionLevel_H
	}
	return decoder.ErrorCorrectionLevel_M
}

// qrImage draws data as a QR with square modules of module dots and a quiet zone.
func qrImage(data []byte, module int, ec byte) (*image.Gray, error) {
	code, err := encoder.Encoder_encode(string(data), qrECLevel(ec),
		map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	m := code.GetMatrix()
	side := (m.GetWidth() + 2*qrQuietZone) * module
	img := image.NewGray(image.Rect(0, 0, side, side))
	fill(img, 255)
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) == 1 {
				fill(img.SubImage(image.Rect((x+qrQuietZone)*module, (y+qrQuietZone)*module,
					(x+qrQuietZone+1)*module, (y+qrQuietZone+1)*module)).(*image.Gray), 0)
			}
		}
	}
	return img, nil
}

// Render lays a ticket out and returns the bytes to send to the printer.
func Render(t Ticket, o Options) ([]byte, error) {
	if o.Width != Width58 && o.Width != Width80 {
		return nil, fmt.Errorf("render: width %d dots: want %d (58 mm) or %d (80 mm)", o.Width, Width58, Width80)
	}
	if err := loadFonts(); err != nil {
		return nil, fmt.Errorf("render: fonts: %w", err)
	}
	small, mid, big := 22, 28, 150
	if o.Width == Width58 {
		small, mid, big = 18, 22, 110
	}
	top := newCanvas(o.Width)
	steps := []func() error{
		func() error { return top.text(t.Office, true, mid) },
		func() error { top.rule(); return nil },
		func() error { return top.text(t.Service, true, mid) },
		func() error { return top.text("SỐ THỨ TỰ", false, small) },
		func() error { return top.text(fmt.Sprint(t.Number), true, big) },
	}
	if t.Priority {
		steps = append(steps, func() error { return top.text("ƯU TIÊN", true, mid) })
	}
	if len(t.Counters) > 0 {
		line := "Quầy phục vụ: " + strings.Join(t.Counters, ", ")
		if t.Location != "" {
			line += " (" + t.Location + ")"
		}
		steps = append(steps, func() error { return top.text(line, false, small) })
	}
	steps = append(steps,
		func() error {
			if t.Ahead == 0 {
				return top.text("Ông/bà sẽ được gọi ngay", false, small)
			}
			return top.text(fmt.Sprintf("Số người chờ trước: %d\nDự kiến chờ khoảng %d phút", t.Ahead, max(t.EstimateMin, 1)), false, small)
		},
		func() error { return top.text("Giờ lấy số: "+t.Issued.Format("15:04 02/01/2006"), false, small) },
	)
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
	}
	var w Writer
	w.Init()
	if t.StatusURL == "" {
		top.y += 12
		w.Raster(top.crop())
		w.Feed(3)
		w.Cut()
		return w.Bytes(), nil
	}
	foot := newCanvas(o.Width)
	if err := foot.text("Quét mã QR để theo dõi lượt của ông/bà", false, small); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	foot.y += 12
	if o.NativeQR {
		if len(t.StatusURL) > 500 {
			return nil, errors.New("render: status address too long for the QR")
		}
		top.y += 8
		w.Raster(top.crop())
		w.QR([]byte(t.StatusURL), qrModule, qrErrorLevel)
	} else {
		qr, err := qrImage([]byte(t.StatusURL), qrModule, qrErrorLevel)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		top.y += 8
		top.picture(qr)
		w.Raster(top.crop())
	}
	w.Raster(foot.crop())
	w.Feed(3)
	w.Cut()
	return w.Bytes(), nil
}

// Sample is the ticket `ticket render` prints for checking a layout.
func Sample() Ticket {
	return Ticket{
		Office:      "Trung tâm Phục vụ hành chính công phường Ba Đình",
		Service:     "Chứng thực, hộ tịch",
		Number:      1023,
		Issued:      time.Date(2026, 3, 2, 8, 15, 0, 0, time.FixedZone("ICT", 7*3600)),
		Ahead:       4,
		EstimateMin: 10,
		StatusURL:   "http://192.168.1.10:8606/ticket?n=1023&d=2026-03-02",
		Counters:    []string{"1", "2"},
		Location:    "Tầng 1, bên trái",
	}
}

// fill paints a grey image one level (draw.Draw with a uniform colour takes a slow
// generic path for Gray).
func fill(img *image.Gray, level uint8) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, y):img.PixOffset(b.Max.X, y)]
		for i := range row {
			row[i] = level
		}
	}
}
