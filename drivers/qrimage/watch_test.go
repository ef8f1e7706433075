package qrimage

import (
	"context"
	"fmt"
	"motcua-agent/internal/testkit"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// mapMarks is a Marks kept in memory across two watcher runs (a restart); the store
// backed one is tested in agent/dossier.
type mapMarks struct {
	mu sync.Mutex
	m  map[string]bool
}

func (m *mapMarks) Seen(_ context.Context, k string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[k], nil
}

func (m *mapMarks) Mark(_ context.Context, k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k] = true
	return nil
}

type pageLog struct {
	mu    sync.Mutex
	pages []Page
}

func (l *pageLog) handle(_ context.Context, p Page) error {
	l.mu.Lock()
	l.pages = append(l.pages, p)
	l.mu.Unlock()
	return nil
}

func (l *pageLog) snapshot() []Page {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Page(nil), l.pages...)
}

// watched is a running watcher whose clock the test moves: no sleeps, no settle window
// that a slow machine could miss.
type watched struct {
	t      *testing.T
	clock  *testkit.Clock
	ticks  chan time.Time
	settle time.Duration
	log    *pageLog
	stop   func()
}

func startWatcher(t *testing.T, dir string, marks Marks, log *pageLog, settle time.Duration) *watched {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watched{t: t, clock: testkit.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)), ticks: make(chan time.Time),
		settle: settle, log: log}
	wt := &Watcher{Dir: dir, Settle: settle, Marks: marks, Handle: log.handle, Now: w.clock.Now, Tick: w.ticks,
		OnError: func(err error) { t.Logf("watcher: %v", err) }}
	done := make(chan struct{})
	go func() { wt.Run(ctx); close(done) }()
	w.stop = func() { cancel(); <-done }
	return w
}

// step moves the clock by d and ticks; it returns once that tick's files are handled
// (the unbuffered second tick is taken only after the first one's work).
func (w *watched) step(d time.Duration) {
	w.clock.Add(d)
	w.ticks <- w.clock.Now()
	w.ticks <- w.clock.Now()
}

// until steps a settle period at a time until n pages are handled (file events reach
// the watcher on their own schedule), at most 200 steps.
func (w *watched) until(n int) []Page {
	w.t.Helper()
	var ps []Page
	testkit.Eventually(w.t, 10*time.Second, func() bool {
		if ps = w.log.snapshot(); len(ps) >= n {
			return true
		}
		w.step(w.settle) // a settle period; the file events arrive meanwhile
		return false
	}, "%d pages to be handled (%s)", n, func() string { return fmt.Sprint(len(ps)) })
	return ps
}

// quiet moves the clock through many settle periods: a wrong second read would happen.
func (w *watched) quiet() {
	for range 20 {
		w.step(w.settle)
	}
}

func TestWatcherSlowWriteReadOnceComplete(t *testing.T) {
	src := qrencodePNG(t, t.TempDir(), "slow", payloads[0], 6)
	data, _ := os.ReadFile(src)
	dir := t.TempDir()
	log := &pageLog{}
	w := startWatcher(t, dir, &mapMarks{m: map[string]bool{}}, log, 500*time.Millisecond)
	defer w.stop()
	f, err := os.Create(filepath.Join(dir, "page-001.png"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := len(data)/8 + 1
	for i := 0; i < len(data); i += chunk {
		f.Write(data[i:min(i+chunk, len(data))])
		w.step(200 * time.Millisecond) // a slow scanner: pauses shorter than Settle
		if n := len(log.snapshot()); n != 0 {
			t.Fatalf("page handled while still being written (%d of %d bytes)", i+chunk, len(data))
		}
	}
	f.Close()
	w.until(1)
	w.quiet()
	ps := log.snapshot()
	if len(ps) != 1 {
		t.Fatalf("file handled %d times", len(ps))
	}
	if ps[0].Err != nil || len(ps[0].Codes) != 1 || ps[0].Codes[0].Text != payloads[0] || ps[0].Size != int64(len(data)) {
		t.Fatalf("page read before it was complete: %+v", ps[0])
	}
}

func TestWatcherBurstAndRestart(t *testing.T) {
	src := qrencodePNG(t, t.TempDir(), "burst", payloads[2], 4)
	data, _ := os.ReadFile(src)
	stage, dir := t.TempDir(), t.TempDir()
	for i := 0; i < 200; i++ {
		if err := os.WriteFile(filepath.Join(stage, fmt.Sprintf("scan-%03d.png", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(stage, "notes.txt"), []byte("not an image"), 0o600)
	marks := &mapMarks{m: map[string]bool{}}
	log := &pageLog{}
	w := startWatcher(t, dir, marks, log, 200*time.Millisecond)
	// Drop all 200 at once (renames are atomic, like a scanner's finished files).
	ents, _ := os.ReadDir(stage)
	for _, e := range ents {
		if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	ps := w.until(200)
	w.stop()
	names := map[string]int{}
	for _, p := range ps {
		names[p.Name]++
		if p.Err != nil || len(p.Codes) != 1 || p.Codes[0].Text != payloads[2] {
			t.Fatalf("%s: %+v", p.Name, p)
		}
	}
	if len(names) != 200 || len(ps) != 200 {
		t.Fatalf("%d distinct files, %d handled", len(names), len(ps))
	}
	// Restart: the folder still holds the 200 files; none is handled again, a new one is.
	log2 := &pageLog{}
	w2 := startWatcher(t, dir, marks, log2, 200*time.Millisecond)
	defer w2.stop()
	os.WriteFile(filepath.Join(dir, "scan-200.png"), data, 0o600)
	w2.until(1)
	w2.quiet() // wrong re-reads of the old files would happen here
	ps2 := log2.snapshot()
	if len(ps2) != 1 || ps2[0].Name != "scan-200.png" {
		t.Fatalf("after restart handled %d files (first %s)", len(ps2), ps2[0].Name)
	}
}

func TestWatcherCorruptAndVanishing(t *testing.T) {
	dir := t.TempDir()
	log := &pageLog{}
	w := startWatcher(t, dir, &mapMarks{m: map[string]bool{}}, log, 100*time.Millisecond)
	defer w.stop()
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o600)
	ps := w.until(1)
	if ps[0].Err == nil {
		t.Fatal("corrupt image gave no error")
	}
	// A file that disappears before it settles is not handled.
	p := filepath.Join(dir, "gone.png")
	os.WriteFile(p, []byte("x"), 0o600)
	os.Remove(p)
	os.WriteFile(filepath.Join(dir, "zz-last.png"), []byte("y"), 0o600)
	ps = w.until(2)
	for _, pg := range ps {
		if pg.Name == "gone.png" {
			t.Fatal("vanished file was handled")
		}
	}
}
