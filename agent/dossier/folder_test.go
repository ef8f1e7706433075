package dossier

import (
	"image"
	"image/png"
	"motcua-agent/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runFolder runs the scan-folder pipeline on dir with a store at dbPath until n events
// exist in it, then stops.
func runFolder(t *testing.T, dbPath, dir string, n int) *Status {
	t.Helper()
	s := watchFolder(t, dbPath, dir, n, &testkit.Buffer{})
	return &s
}

func TestScanFolderDigitisesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("qrencode"); err != nil {
		t.Skip("qrencode not installed")
	}
	dir := filepath.Join(t.TempDir(), "scans")
	os.MkdirAll(dir, 0o750)
	if out, err := exec.Command("qrencode", "-s", "5", "-o", filepath.Join(dir, "p001.png"), "H40.22-230701-0001|13").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	// Two component pages without a code: they belong to the receipt before them.
	for _, n := range []string{"p002.png", "p003.png"} {
		f, _ := os.Create(filepath.Join(dir, n))
		png.Encode(f, image.NewGray(image.Rect(0, 0, 200, 280)))
		f.Close()
	}
	db := filepath.Join(t.TempDir(), "agent.db")
	s := runFolder(t, db, dir, 3)
	if s.Digitized != 1 || len(s.Services) != 1 || s.Services[0].Code != "13" || s.Services[0].Pages != 3 {
		t.Fatalf("first run: %+v", s)
	}
	// Restart on the same record: nothing is counted again; a new page is.
	if out, err := exec.Command("qrencode", "-s", "5", "-o", filepath.Join(dir, "p004.png"), "H40.22-230701-0002|13").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	s = runFolder(t, db, dir, 4)
	if s.Digitized != 2 || s.Services[0].Pages != 4 {
		t.Fatalf("after restart: %+v", s)
	}
}
