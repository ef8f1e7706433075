// Package qrimage finds and decodes every QR code in a scanned page or photo (PNG,
// JPEG, GIF, TIFF, BMP; not PDF) with gozxing, after the image preparation a scanned
// page needs: grey conversion, downscaling of large pages, contrast stretching,
// smoothing of noise, upscaling of small codes. The order of those attempts was chosen
// by measuring them on degraded images (see the package's benchmarks and README).
//
// Images come from outside: file size and pixel count are capped before anything is
// allocated for the pixels, and a corrupt file gives an error, never a panic. It
// never logs what it decodes.
package qrimage

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Options bound and steer decoding.
type Options struct {
	// MaxBytes and MaxPixels cap the file and the image (defaults 64 MiB, 120 Mpx).
	MaxBytes  int64
	MaxPixels int64
	// Charset decodes byte segments without an ECI; "UTF-8" (the default) is what the
	// card QR, VNeID and receipts use. "guess" leaves it to zxing's guess (Shift_JIS,
	// ISO-8859-1 …), as zxing's own test suite expects.
	Charset string
	// Exhaustive runs every attempt and merges the codes, instead of stopping at the
	// first attempt that finds one (slower; for pages with several codes of different
	// quality).
	Exhaustive bool
}

func (o *Options) defaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 120_000_000
	}
	if o.Charset == "" {
		o.Charset = "UTF-8"
	}
}

// Code is one decoded QR code.
type Code struct {
	Text string `json:"text"`
	// Attempt names the preparation that found it (for measurement).
	Attempt string `json:"attempt"`
	// Points are the finder pattern centres in the original image's pixels.
	Points [][2]float64 `json:"points,omitempty"`
}

// Errors; test with errors.Is.
var (
	ErrTooLarge    = errors.New("image too large")
	ErrNotAnImage  = errors.New("not a supported image (PNG, JPEG, GIF, TIFF, BMP)")
	ErrNoCode      = errors.New("no QR code found")
	ErrUnsupported = errors.New("unsupported format")
)

// DecodeFile reads and decodes one file.
func DecodeFile(path string, o Options) ([]Code, error) {
	o.defaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat image: %w", err)
	}
	if st.Size() > o.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, st.Size(), o.MaxBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	return DecodeBytes(b, o)
}

// DecodeBytes decodes an encoded image held in memory.
func DecodeBytes(b []byte, o Options) ([]Code, error) {
	o.defaults()
	if int64(len(b)) > o.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), o.MaxBytes)
	}
	if bytes.HasPrefix(b, []byte("%PDF")) {
		return nil, fmt.Errorf("%w: PDF (set the scanner to write PNG, JPEG or TIFF)", ErrUnsupported)
	}
	if bytes.HasPrefix(b, pngSignature) {
		h, err := pngConfig(b)
		if err != nil {
			return nil, fmt.Errorf("%w: png: %v", ErrNotAnImage, err)
		}
		if int64(h.width)*int64(h.height) > o.MaxPixels {
			return nil, fmt.Errorf("%w: %dx%d pixels, at most %d", ErrTooLarge, h.width, h.height, o.MaxPixels)
		}
		g, err := decodePNGGray(b, h)
		if err == nil {
			return Decode(g, o)
		}
		if !errors.Is(err, errPNGInterlaced) {
			return nil, fmt.Errorf("%w: png: %v", ErrNotAnImage, err)
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAnImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > o.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d pixels, at most %d", ErrTooLarge, cfg.Width, cfg.Height, o.MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAnImage, err)
	}
	return Decode(img, o)
}

// Decode finds every QR code in img.
func Decode(img image.Image, o Options) ([]Code, error) {
	o.defaults()
	b := img.Bounds()
	if int64(b.Dx())*int64(b.Dy()) > o.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d pixels", ErrTooLarge, b.Dx(), b.Dy())
	}
	g := toGray(img)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	if o.Charset != "guess" {
		hints[gozxing.DecodeHintType_CHARACTER_SET] = o.Charset
	}
	var out []Code
	seen := map[string]bool{}
	isPacked := false
	// The plain page's binarized matrices serve every attempt that reads the page as
	// it is (plain, regions, global, keystone): each is 10-20 ms on an A4 page.
	mats := &matrices{g: g}
	for _, a := range attempts {
		if a.packs && !isPacked {
			g, isPacked = packed(g), true
			mats.g = g // the same pixels
		}
		var found []Code
		if a.decode != nil {
			found = a.decode(g, hints, mats)
		} else {
			prepared, scale, ok := a.prepare(g)
			if !ok {
				continue
			}
			found = decodeGray(prepared, a.global, hints, mats)
			for i := range found {
				for j := range found[i].Points {
					found[i].Points[j][0] /= scale
					found[i].Points[j][1] /= scale
				}
			}
		}
		for _, c := range found {
			if seen[c.Text] {
				continue
			}
			seen[c.Text] = true
			c.Attempt = a.name
			out = append(out, c)
		}
		if len(out) > 0 && !o.Exhaustive {
			break
		}
	}
	if len(out) == 0 {
		return nil, ErrNoCode
	}
	return out, nil
}

// matrices keeps the binarized matrices (hybrid, global) of one image, the page as
// decoded, for the attempts that read it as it is. A nil *matrices keeps nothing.
type matrices struct {
	g    *image.Gray
	bm   [2]*gozxing.BitMatrix
	done [2]bool
}

func (m *matrices) holds(g *image.Gray) bool { return m != nil && m.g == g }

// get binarizes g, once per binarizer when m holds g; nil when it cannot be.
func (m *matrices) get(g *image.Gray, global bool) *gozxing.BitMatrix {
	if !m.holds(g) {
		return blackMatrix(g, global)
	}
	i := 0
	if global {
		i = 1
	}
	if !m.done[i] {
		m.bm[i], m.done[i] = blackMatrix(g, global), true
	}
	return m.bm[i]
}

// fixedBinarizer hands gozxing a matrix binarized before.
type fixedBinarizer struct {
	gozxing.Binarizer
	bm *gozxing.BitMatrix
}

func (f fixedBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) { return f.bm, nil }

// decodeGray runs the multi-code reader, then the single-code reader, on one prepared
// grey image; gozxing's panics on odd input are turned into "nothing found".
func decodeGray(g *image.Gray, global bool, hints map[gozxing.DecodeHintType]interface{}, mats *matrices) (codes []Code) {
	defer func() {
		if recover() != nil {
			codes = nil
		}
	}()
	bin := binarizer(g, global)
	if bin == nil {
		return nil
	}
	bm := mats.get(g, global) // kept when mats holds g
	if bm == nil {
		return nil
	}
	bin = fixedBinarizer{bin, bm}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return nil
	}
	if rs, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints); err == nil && len(rs) > 0 {
		for _, r := range rs {
			codes = append(codes, toCode(r))
		}
		return codes
	}
	if r, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
		return []Code{toCode(r)}
	}
	return nil
}

func toCode(r *gozxing.Result) Code {
	c := Code{Text: r.GetText()}
	for _, p := range r.GetResultPoints() {
		c.Points = append(c.Points, [2]float64{p.GetX(), p.GetY()})
	}
	return c
}
