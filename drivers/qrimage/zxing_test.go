package qrimage

import (
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// zxingDir is the zxing project's QR test images (see its README for the source).
func zxingDir(tb testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	for _, d := range []string{
		os.Getenv("ZXING_QR_TESTDATA"),
		filepath.Join(filepath.Dir(file), "..", "..", "testdata", "zxing-qr"),
		filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "testdata", "zxing-qr"),
		"/work/shared/testdata/zxing-qr",
	} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "qrcode-1")); err == nil {
			return d
		}
	}
	tb.Skip("zxing QR test images absent (set ZXING_QR_TESTDATA to the folder with qrcode-1 … qrcode-6)")
	return ""
}

// zxingMinimum is zxing's own minimum per set and rotation (0, 90, 180, 270), from the
// README beside the images.
var zxingMinimum = map[string][4]int{
	"qrcode-1": {17, 14, 17, 14},
	"qrcode-2": {32, 30, 31, 31},
	"qrcode-3": {38, 39, 36, 39},
	"qrcode-4": {36, 35, 35, 35},
	"qrcode-5": {19, 19, 19, 19},
	"qrcode-6": {15, 14, 13, 14},
}

type zxingImage struct {
	path, want string
}

func zxingSet(tb testing.TB, dir, set string) []zxingImage {
	ents, err := os.ReadDir(filepath.Join(dir, set))
	if err != nil {
		tb.Fatal(err)
	}
	var out []zxingImage
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if ext != ".png" && ext != ".jpg" && ext != ".gif" && ext != ".jpeg" {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ext)
		want, err := os.ReadFile(filepath.Join(dir, set, base+".txt"))
		if err != nil {
			continue
		}
		out = append(out, zxingImage{filepath.Join(dir, set, e.Name()), string(want)})
	}
	return out
}

// rotate90 turns a grey image a quarter turn clockwise.
func rotate90(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Pix[x*out.Stride+(h-1-y)] = g.Pix[y*g.Stride+x]
		}
	}
	return out
}

func loadGray(tb testing.TB, path string) *image.Gray {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return toGray(img)
}

// TestZXingBlackbox decodes zxing's own test images at four rotations and holds the
// decoder to zxing's minimum counts.
func TestZXingBlackbox(t *testing.T) {
	dir := zxingDir(t)
	if testing.Short() {
		t.Skip("short mode")
	}
	rotations := 4
	if raceEnabled {
		rotations = 1
	}
	for _, set := range []string{"qrcode-1", "qrcode-2", "qrcode-3", "qrcode-4", "qrcode-5", "qrcode-6"} {
		t.Run(set, func(t *testing.T) {
			imgs := zxingSet(t, dir, set)
			var counts [4]int
			var mu sync.Mutex
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2)
			for _, im := range imgs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					g := loadGray(t, im.path)
					for r := 0; r < rotations; r++ {
						if r > 0 {
							g = rotate90(g)
						}
						codes, err := Decode(g, Options{Charset: "guess"})
						if err != nil {
							continue
						}
						for _, c := range codes {
							if c.Text == im.want {
								mu.Lock()
								counts[r]++
								mu.Unlock()
								break
							}
						}
					}
				}()
			}
			wg.Wait()
			min := zxingMinimum[set]
			t.Logf("%s: %d images, decoded %v, zxing minimum %v", set, len(imgs), counts, min)
			for r := 0; r < rotations; r++ {
				if counts[r] < min[r] {
					t.Errorf("%s at %d°: %d decoded, zxing's minimum is %d", set, r*90, counts[r], min[r])
				}
			}
		})
	}
}
