package qrimage

import (
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

// agentDecoder is the whole `motcua-agent qr decode --json FILE` process, built from
// this module, as the issue measures it against the whole ZXingReader process.
func agentDecoder(tb testing.TB) decoder {
	bin := filepath.Join(tb.TempDir(), "motcua-agent")
	cmd := exec.Command("go", "build", "-o", bin, "./agent")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Skipf("build the agent: %v\n%s", err, out)
	}
	return decoder{"qr-decode", func(path string) []string {
		out, _ := exec.Command(bin, "qr", "decode", "--json", path).Output()
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
	}}
}

// BenchmarkPagesVsPeers decodes the whole page corpus with the agent's `qr decode`
// process, zbarimg and ZXingReader, one process per page each, and reports per class
// the pages each reads and the median process time per page against ZXingReader's.
// Run it alone (-benchtime 1x): it makes 96 pages and starts about 300 processes.
func BenchmarkPagesVsPeers(b *testing.B) {
	tools := append([]decoder{agentDecoder(b)}, peerDecoders()...)
	if len(tools) < 3 {
		b.Skip("zbarimg or ZXingReader missing")
	}
	specs := pageSpecs()
	paths := makePages(b, specs)
	times := map[string][]time.Duration{}
	var res []pageResult
	b.ResetTimer()
	for range b.N {
		res = res[:0]
		for i, s := range specs {
			r := pageResult{spec: s}
			os.ReadFile(paths[i]) // in the page cache for every tool alike
			// One page at a time, the tools in turn, starting with a different one on
			// each page: the same machine load for all.
			for j := range tools {
				tool := tools[(i+j)%len(tools)]
				start := time.Now()
				got := tool.decode(paths[i])
				times[tool.name] = append(times[tool.name], time.Since(start))
				if found(got, []string{s.Payload}) {
					r.readers = append(r.readers, tool.name)
				}
			}
			res = append(res, r)
		}
	}
	b.StopTimer()
	var report strings.Builder
	report.WriteString("\n" + classTable(res, tools))
	zx := median(times["ZXingReader"])
	for _, tool := range tools {
		m := median(times[tool.name])
		fmt.Fprintf(&report, "%-12s median %7.1f ms per page (%.2f× ZXingReader)\n", tool.name,
			float64(m.Microseconds())/1000, float64(m)/float64(zx))
		read := 0
		for _, r := range res {
			if slices.Contains(r.readers, tool.name) {
				read++
			}
		}
		b.ReportMetric(float64(read), "read-"+tool.name)
		b.ReportMetric(float64(m.Microseconds())/1000, "median-ms-"+tool.name)
	}
	b.Log(report.String())
	b.ReportMetric(float64(median(times["qr-decode"]))/float64(zx), "time-vs-ZXingReader")
}
