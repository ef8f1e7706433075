package dossier

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/internal/testkit"
)

// runFolder runs the scan-folder pipeline on dir with a store at dbPath until n events
// exist in it, then stops.
func runFolder(t *testing.T, dbPath, dir string, n int) *Status {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := New(st, config.Dossier{}, "site", nil)
	cl, _ := qrpayload.NewClassifier("")
	pages := &Pages{Flow: f, Classifier: cl, FollowFor: time.Minute}
	// The watcher's clock is the test's: each step is a settle period, taken only
	// when the previous one's files are handled.
	clock := testkit.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	ticks := make(chan time.Time)
	const settle = 150 * time.Millisecond
	w := &qrimage.Watcher{Dir: dir, Settle: settle, Marks: StoreMarks{st}, Handle: pages.Handle, Now: clock.Now, Tick: ticks}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	step := func() {
		clock.Add(settle)
		ticks <- clock.Now()
		ticks <- clock.Now()
	}
	for i := 0; ; i++ {
		evs, _ := st.Events(context.Background(), store.EventFilter{})
		if len(evs) >= n {
			break
		}
		if i == 400 {
			t.Fatalf("%d of %d events after 400 settle periods", len(evs), n)
		}
		step()
		time.Sleep(5 * time.Millisecond) // let file events arrive
	}
	// Many more settle periods: a wrong re-count would happen here.
	for range 20 {
		step()
	}
	cancel()
	<-done
	s, err := f.Today(context.Background())
	if err != nil {
		t.Fatal(err)
	}
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
