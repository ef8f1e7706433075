package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQRDecodeFolder decodes a folder in one process: its images in name order (other
// files and subfolders skipped), then a file given after it, each reported once.
func TestQRDecodeFolder(t *testing.T) {
	if _, err := exec.LookPath("qrencode"); err != nil {
		t.Skip("qrencode not installed")
	}
	dir := t.TempDir()
	payloads := map[string]string{"b.png": "H40.22-230701-0002|13", "a.png": "H40.22-230701-0001|13", "c.png": "H40.22-230701-0003|13"}
	for name, p := range payloads {
		if out, err := exec.Command("qrencode", "-o", filepath.Join(dir, name), p).CombinedOutput(); err != nil {
			t.Fatal(err, string(out))
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	extra := filepath.Join(t.TempDir(), "d.png")
	if out, err := exec.Command("qrencode", "-o", extra, "H40.22-230701-0004|13").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	out, code := runBin(t, "qr", "decode", "--json", dir, extra)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct {
			File  string
			Codes []struct{ Text string }
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || len(v.Codes) != 1 {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, filepath.Base(v.File)+"="+v.Codes[0].Text)
	}
	want := "a.png=H40.22-230701-0001|13 b.png=H40.22-230701-0002|13 c.png=H40.22-230701-0003|13 d.png=H40.22-230701-0004|13"
	if strings.Join(got, " ") != want {
		t.Fatalf("decoded %v, want %s", got, want)
	}
}
