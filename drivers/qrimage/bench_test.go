package qrimage

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
)

// decoder is one tool under comparison: it returns the payloads found in a file.
type decoder struct {
	name   string
	decode func(path string) []string
	// run, for a tool run as a process, also gives the process's CPU time (user and
	// system), which other load on the machine disturbs less than the wall time.
	run func(path string) ([]string, time.Duration)
}

// processDecoder runs cmd(path) and parses its standard output.
func processDecoder(name string, cmd func(path string) *exec.Cmd, parse func(out []byte) []string) decoder {
	d := decoder{name: name, run: func(path string) ([]string, time.Duration) {
		c := cmd(path)
		out, _ := c.Output()
		var cpu time.Duration
		if c.ProcessState != nil {
			cpu = c.ProcessState.UserTime() + c.ProcessState.SystemTime()
		}
		return parse(out), cpu
	}}
	d.decode = func(path string) []string { got, _ := d.run(path); return got }
	return d
}

func zbarDecoder() (decoder, bool) {
	if _, err := exec.LookPath("zbarimg"); err != nil {
		return decoder{}, false
	}
	return processDecoder("zbarimg", func(path string) *exec.Cmd {
		return exec.Command("zbarimg", "--raw", "-Sbinary", "-q", "-Sdisable", "-Sqrcode.enable", path)
	}, func(out []byte) []string {
		var res []string
		for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if l != "" {
				res = append(res, l)
			}
		}
		return res
	}), true
}

func zxingReaderDecoder() (decoder, bool) {
	if _, err := exec.LookPath("ZXingReader"); err != nil {
		return decoder{}, false
	}
	return processDecoder("ZXingReader", func(path string) *exec.Cmd {
		return exec.Command("ZXingReader", "-format", "QRCode", path)
	}, func(out []byte) []string {
		var res []string
		for _, l := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(l, "Bytes:"); ok {
				b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(rest), " ", ""))
				if err == nil {
					res = append(res, string(b))
				}
			}
		}
		return res
	}), true
}

// plainDecoder is gozxing with TRY_HARDER on the image as it is: what the image
// preparation adds is measured against it.
func plainDecoder() decoder {
	return decoder{name: "plain-gozxing", decode: func(path string) []string {
		img, err := loadImage(path)
		if err != nil {
			return nil
		}
		var res []string
		for _, c := range decodeGray(toGray(img), false, map[gozxing.DecodeHintType]interface{}{
			gozxing.DecodeHintType_TRY_HARDER: true, gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"}, nil) {
			res = append(res, c.Text)
		}
		return res
	}}
}

func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}

func oursDecoder() decoder {
	return decoder{name: "qrimage", decode: func(path string) []string {
		codes, _ := DecodeFile(path, Options{Exhaustive: false})
		var res []string
		for _, c := range codes {
			res = append(res, c.Text)
		}
		return res
	}}
}

// found reports whether every wanted payload was decoded exactly.
func found(got, want []string) bool {
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkDecodeVsBaselines decodes the degraded corpus with this package, zbarimg
// and ZXingReader in the same run, and reports per class the successes of each and
// the median time per image (the baselines' times include starting their process, as
// the agent's include reading the file).
func BenchmarkDecodeVsBaselines(b *testing.B) {
	cs := buildCorpus(b, b.TempDir())
	tools := []decoder{oursDecoder(), plainDecoder()}
	if d, ok := zbarDecoder(); ok {
		tools = append(tools, d)
	}
	if d, ok := zxingReaderDecoder(); ok {
		tools = append(tools, d)
	}
	type tally struct {
		ok    int
		n     int
		times []time.Duration
	}
	res := map[string]map[string]*tally{} // tool -> class -> tally
	for range b.N {
		for _, tool := range tools {
			if res[tool.name] == nil {
				res[tool.name] = map[string]*tally{}
			}
			for _, c := range cs {
				for _, cls := range []string{c.Class, "all"} {
					if res[tool.name][cls] == nil {
						res[tool.name][cls] = &tally{}
					}
				}
				start := time.Now()
				got := tool.decode(c.Path)
				el := time.Since(start)
				for _, cls := range []string{c.Class, "all"} {
					t := res[tool.name][cls]
					t.n++
					t.times = append(t.times, el)
					if found(got, c.Want) {
						t.ok++
					}
				}
			}
		}
	}
	b.StopTimer()
	classes := []string{"clean", "modules", "rotated", "blur", "noise", "contrast", "a4", "all"}
	var report bytes.Buffer
	fmt.Fprintf(&report, "\n%-10s", "class")
	for _, tool := range tools {
		fmt.Fprintf(&report, " %22s", tool.name+" ok/n median")
	}
	fmt.Fprintln(&report)
	for _, cls := range classes {
		fmt.Fprintf(&report, "%-10s", cls)
		for _, tool := range tools {
			t := res[tool.name][cls]
			fmt.Fprintf(&report, " %12d/%-3d %7.1fms", t.ok, t.n, float64(median(t.times).Microseconds())/1000)
		}
		fmt.Fprintln(&report)
	}
	b.Log(report.String())
	ours := res["qrimage"]["all"]
	b.ReportMetric(float64(ours.ok)/float64(ours.n), "success")
	b.ReportMetric(float64(median(ours.times).Microseconds())/1000, "median-ms")
	// The external tools pay a process start per image; their floor is measured on a
	// blank image so the net ratio can be read beside the gross one.
	blank := filepath.Join(b.TempDir(), "blank.png")
	if f, err := os.Create(blank); err == nil {
		png.Encode(f, image.NewGray(image.Rect(0, 0, 8, 8)))
		f.Close()
	}
	for _, tool := range tools[2:] {
		t := res[tool.name]["all"]
		var floor []time.Duration
		for range 7 {
			start := time.Now()
			tool.decode(blank)
			floor = append(floor, time.Since(start))
		}
		net := median(t.times) - median(floor)
		b.Logf("%s: process floor %.1fms, net median %.1fms", tool.name, float64(median(floor).Microseconds())/1000, float64(net.Microseconds())/1000)
		b.ReportMetric(float64(ours.ok)/float64(max(t.ok, 1)), "success-vs-"+tool.name)
		b.ReportMetric(float64(median(ours.times))/float64(median(t.times)), "time-vs-"+tool.name)
		if net > 0 {
			b.ReportMetric(float64(median(ours.times))/float64(net), "time-vs-"+tool.name+"-net")
		}
	}
	plain := res["plain-gozxing"]["all"]
	b.ReportMetric(float64(ours.ok)/float64(max(plain.ok, 1)), "success-vs-plain-gozxing")
}
