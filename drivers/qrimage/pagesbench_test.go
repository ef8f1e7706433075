package qrimage

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// agentBinary builds the agent from this module (QRIMAGE_AGENT names a built one).
func agentBinary(tb testing.TB) string {
	if bin := os.Getenv("QRIMAGE_AGENT"); bin != "" {
		return bin
	}
	bin := filepath.Join(tb.TempDir(), "motcua-agent")
	cmd := exec.Command("go", "build", "-o", bin, "./agent/cmd/motcua-agent")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Skipf("build the agent: %v\n%s", err, out)
	}
	return bin
}

// agentDecoder is the whole `motcua-agent qr decode --json FILE` process, built from
// this module, as the issue measures it against the whole ZXingReader process.
func agentDecoder(tb testing.TB) decoder {
	bin := agentBinary(tb)
	return processDecoder("qr-decode", func(path string) *exec.Cmd {
		return exec.Command(bin, "qr", "decode", "--json", path)
	}, func(out []byte) []string {
		var v struct {
			Codes []struct {
				Text string `json:"text"`
			} `json:"codes"`
		}
		if json.Unmarshal(out, &v) != nil {
			return nil
		}
		var res []string
		for _, c := range v.Codes {
			res = append(res, c.Text)
		}
		return res
	})
}

// BenchmarkPagesVsPeers decodes the whole page corpus with the agent's `qr decode`
// process, zbarimg and ZXingReader, one process per page each, and reports per class
// the pages each reads, and the total and median process time per page against
// ZXingReader's. Run it alone (-benchtime 1x): it makes 96 pages and starts about 300
// processes.
func BenchmarkPagesVsPeers(b *testing.B) {
	processPerImage(b, pageItems(b, pageSpecs()))
}

// BenchmarkScansVsPeers is BenchmarkPagesVsPeers on the scan corpus (scans_test.go),
// the mix of small codes, degraded images and A4 scans.
func BenchmarkScansVsPeers(b *testing.B) {
	processPerImage(b, scanItems(b, scanSpecs()))
}

// processPerImage runs each tool as one process per image, as a scan-folder run or
// `motcua-agent qr decode FILE` does, start-up included, one image at a time, the tools
// in turn, starting with a different one on each image (the same machine load for
// all), and reports reads per class and time against ZXingReader's in the same run.
func processPerImage(b *testing.B, items []corpusItem) {
	tools := append([]decoder{agentDecoder(b)}, peerDecoders()...)
	if len(tools) < 3 {
		b.Skip("zbarimg or ZXingReader missing")
	}
	times, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
	var res []pageResult
	b.ResetTimer()
	for range b.N {
		res = res[:0]
		for i, it := range items {
			r := pageResult{spec: pageSpec{Name: it.name, Class: it.class}}
			os.ReadFile(it.path) // in the page cache for every tool alike
			for j := range tools {
				tool := tools[(i+j)%len(tools)]
				start := time.Now()
				got, c := tool.run(it.path)
				times[tool.name] = append(times[tool.name], time.Since(start))
				cpu[tool.name] = append(cpu[tool.name], c)
				if found(got, []string{it.want}) {
					r.readers = append(r.readers, tool.name)
				}
			}
			res = append(res, r)
		}
	}
	b.StopTimer()
	var report strings.Builder
	report.WriteString("\n" + classTable(res, tools))
	report.WriteString(classTimes(res, times, tools))
	zx, zxCPU := times["ZXingReader"], cpu["ZXingReader"]
	for _, tool := range tools {
		t, c := times[tool.name], cpu[tool.name]
		fmt.Fprintf(&report, "%-12s wall: total %8.1f ms (%.2f× ZXingReader), median %6.1f ms per image (%.2f×); CPU: total %8.1f ms (%.2f×)\n", tool.name,
			msOf(sum(t)), float64(sum(t))/float64(sum(zx)), msOf(median(t)), float64(median(t))/float64(median(zx)),
			msOf(sum(c)), float64(sum(c))/float64(sum(zxCPU)))
		read := 0
		for _, r := range res {
			if slices.Contains(r.readers, tool.name) {
				read++
			}
		}
		b.ReportMetric(float64(read), "read-"+tool.name)
		b.ReportMetric(msOf(sum(t)), "total-ms-"+tool.name)
	}
	b.Log(report.String())
	b.ReportMetric(float64(sum(times["qr-decode"]))/float64(sum(zx)), "total-vs-ZXingReader")
	b.ReportMetric(float64(sum(cpu["qr-decode"]))/float64(sum(zxCPU)), "cpu-vs-ZXingReader")
	b.ReportMetric(float64(median(times["qr-decode"]))/float64(median(zx)), "median-vs-ZXingReader")
}

// classTimes is the median process time per image and class, each tool's against
// ZXingReader's.
func classTimes(res []pageResult, times map[string][]time.Duration, tools []decoder) string {
	per := map[string]map[string][]time.Duration{}
	var classes []string
	for i, r := range res {
		c := r.spec.Class
		if per[c] == nil {
			per[c] = map[string][]time.Duration{}
			classes = append(classes, c)
		}
		for _, tool := range tools {
			// times[tool] holds one entry per image per iteration: the first iteration here.
			per[c][tool.name] = append(per[c][tool.name], times[tool.name][i])
		}
	}
	slices.Sort(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s", "median ms per image")
	for _, tool := range tools {
		fmt.Fprintf(&b, " %12s", tool.name)
	}
	b.WriteString("\n")
	for _, c := range classes {
		fmt.Fprintf(&b, "%-20s", c)
		zx := median(per[c]["ZXingReader"])
		for _, tool := range tools {
			m := median(per[c][tool.name])
			fmt.Fprintf(&b, " %5.1f %5.2fx", msOf(m), float64(m)/float64(zx))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func sum(d []time.Duration) time.Duration {
	var s time.Duration
	for _, v := range d {
		s += v
	}
	return s
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkFolderVsPeers decodes each corpus as a folder, every file in one process:
// `motcua-agent qr decode FILE...`, `ZXingReader FILE...` and `zbarimg FILE...`, each
// in turn, and reports the wall time of each against ZXingReader's, and how many
// files the agent and ZXingReader read (zbarimg's output does not name the file).
func BenchmarkFolderVsPeers(b *testing.B) {
	bin := agentBinary(b)
	if _, err := exec.LookPath("ZXingReader"); err != nil {
		b.Skip("ZXingReader missing")
	}
	corpora := []struct {
		name  string
		paths []string
		want  []string
	}{{name: "pages"}, {name: "scans"}}
	for i, items := range [][]corpusItem{pageItems(b, pageSpecs()), scanItems(b, scanSpecs())} {
		for _, it := range items {
			corpora[i].paths = append(corpora[i].paths, it.path)
			corpora[i].want = append(corpora[i].want, it.want)
		}
	}
	var report strings.Builder
	b.ResetTimer()
	for range b.N {
		for _, c := range corpora {
			for _, p := range c.paths {
				os.ReadFile(p)
			}
			run := func(name string, args ...string) (time.Duration, time.Duration, []byte) {
				start := time.Now()
				cmd := exec.Command(name, args...)
				out, _ := cmd.Output()
				wall := time.Since(start)
				if cmd.ProcessState == nil {
					return wall, 0, out
				}
				return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), out
			}
			ours, oursCPU, oursOut := run(bin, append([]string{"qr", "decode", "--json"}, c.paths...)...)
			zx, zxCPU, zxOut := run("ZXingReader", append([]string{"-format", "QRCode"}, c.paths...)...)
			var zb, zbCPU time.Duration
			if _, err := exec.LookPath("zbarimg"); err == nil {
				zb, zbCPU, _ = run("zbarimg", append([]string{"--raw", "-q", "-Sdisable", "-Sqrcode.enable"}, c.paths...)...)
			}
			readOurs, readZX := folderReads(oursOut, zxOut, c.paths, c.want)
			fmt.Fprintf(&report, "%s folder, %d files, wall (CPU): qr-decode %.0f ms (%.0f), %.2f× ZXingReader (%.2f×); ZXingReader %.0f ms (%.0f); zbarimg %.0f ms (%.0f), %.2f× (%.2f×); read: qr-decode %d, ZXingReader %d\n",
				c.name, len(c.paths), msOf(ours), msOf(oursCPU), float64(ours)/float64(zx), float64(oursCPU)/float64(zxCPU), msOf(zx), msOf(zxCPU),
				msOf(zb), msOf(zbCPU), float64(zb)/float64(zx), float64(zbCPU)/float64(zxCPU), readOurs, readZX)
			b.ReportMetric(float64(ours)/float64(zx), c.name+"-vs-ZXingReader")
		}
	}
	b.StopTimer()
	b.Log("\n" + report.String())
}

// folderReads counts the files whose payload the agent's JSON lines and ZXingReader's
// "File:" blocks hold.
func folderReads(ours, zx []byte, paths, want []string) (int, int) {
	wantOf := map[string]string{}
	for i, p := range paths {
		wantOf[p] = want[i]
	}
	readOurs := 0
	for _, l := range strings.Split(string(ours), "\n") {
		var v struct {
			File  string `json:"file"`
			Codes []struct {
				Text string `json:"text"`
			} `json:"codes"`
		}
		if json.Unmarshal([]byte(l), &v) != nil {
			continue
		}
		for _, c := range v.Codes {
			if c.Text == wantOf[v.File] {
				readOurs++
				break
			}
		}
	}
	readZX := 0
	file := ""
	got := map[string]bool{}
	for _, l := range strings.Split(string(zx), "\n") {
		if rest, ok := strings.CutPrefix(l, "File:"); ok {
			file = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(l, "Bytes:"); ok && !got[file] {
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(rest), " ", ""))
			if err == nil && string(b) == wantOf[file] {
				got[file] = true
				readZX++
			}
		}
	}
	return readOurs, readZX
}
