package qrimage

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestDegradedCorpus(t *testing.T) {
	cs := buildCorpus(t, t.TempDir())
	for _, c := range cs {
		t.Run(c.Name, func(t *testing.T) {
			codes, err := DecodeFile(c.Path, Options{Exhaustive: len(c.Want) > 1})
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			var got []string
			for _, code := range codes {
				got = append(got, code.Text)
			}
			sort.Strings(got)
			want := append([]string(nil), c.Want...)
			sort.Strings(want)
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("decoded %q, want %q", got, want)
			}
			t.Logf("%s: found by %s", c.Name, codes[0].Attempt)
		})
	}
}

func TestBadImages(t *testing.T) {
	dir := t.TempDir()
	// A 20000x20000 PNG header: refused from its header, before any pixel is allocated.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 20000, 1)))
	b := buf.Bytes()
	// Patch the IHDR height (bytes 20..23) to 20000; the CRC is wrong but DecodeConfig
	// reads only the header fields.
	big := append([]byte(nil), b...)
	big[20], big[21], big[22], big[23] = 0, 0, 0x4e, 0x20
	if _, err := DecodeBytes(big, Options{}); !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNotAnImage) {
		t.Fatalf("20000x20000: %v", err)
	}
	real := image.NewGray(image.Rect(0, 0, 20000, 20000))
	if _, err := Decode(real, Options{MaxPixels: 120_000_000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("20000x20000 in memory: %v", err)
	}
	if _, err := DecodeBytes(b[:len(b)/2], Options{}); !errors.Is(err, ErrNotAnImage) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := DecodeBytes([]byte("%PDF-1.7 ..."), Options{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("pdf: %v", err)
	}
	if _, err := DecodeBytes([]byte("not an image at all"), Options{}); !errors.Is(err, ErrNotAnImage) {
		t.Fatalf("garbage: %v", err)
	}
	p := filepath.Join(dir, "big.bin")
	os.WriteFile(p, make([]byte, 2048), 0o600)
	if _, err := DecodeFile(p, Options{MaxBytes: 1024}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("file cap: %v", err)
	}
	if _, err := DecodeFile(filepath.Join(dir, "gone.png"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	blank := image.NewGray(image.Rect(0, 0, 300, 300))
	if _, err := Decode(blank, Options{}); !errors.Is(err, ErrNoCode) {
		t.Fatalf("blank: %v", err)
	}
}

func FuzzDecodeBytes(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 40)))
	f.Add(buf.Bytes())
	f.Add([]byte("\xff\xd8\xff\xe0"))
	// The package's own PNG reader: 16-bit colour with alpha, and a small palette.
	for _, img := range []image.Image{image.NewNRGBA64(image.Rect(0, 0, 9, 5)),
		image.NewPaletted(image.Rect(0, 0, 5, 9), color.Palette{color.White, color.Black})} {
		buf.Reset()
		png.Encode(&buf, img)
		f.Add(append([]byte(nil), buf.Bytes()...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		codes, err := DecodeBytes(b, Options{MaxPixels: 1 << 20})
		if err == nil && len(codes) == 0 {
			t.Fatal("no error and no code")
		}
	})
}

// A decoder's grey image may have padded rows (Go's JPEG decoder pads to 16 pixels);
// it is used without a copy, and every preparation must still read it right.
func TestPaddedRowsEveryAttempt(t *testing.T) {
	t.Parallel()
	src := loadGray(t, qrencodePNG(t, t.TempDir(), "padded", payloads[0], 3))
	w, h := src.Rect.Dx(), src.Rect.Dy()
	big := image.NewGray(image.Rect(0, 0, w+13, h+5))
	for i := range big.Pix {
		big.Pix[i] = 0 // black padding: any attempt reading it as pixels breaks the code
	}
	for y := 0; y < h; y++ {
		copy(big.Pix[y*big.Stride:], src.Pix[y*src.Stride:y*src.Stride+w])
	}
	padded := big.SubImage(image.Rect(0, 0, w, h)).(*image.Gray)
	for _, a := range attempts {
		if a.decode != nil {
			continue
		}
		out, _, ok := a.prepare(padded)
		if !ok {
			continue
		}
		ref, _, _ := a.prepare(packed(padded))
		if !bytes.Equal(packed(out).Pix, packed(ref).Pix) {
			t.Errorf("%s: padded rows change the prepared image", a.name)
		}
	}
	codes, err := Decode(padded, Options{Exhaustive: true})
	if err != nil || codes[0].Text != payloads[0] {
		t.Fatalf("decoded %v, %v", codes, err)
	}
}
