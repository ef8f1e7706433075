package qrimage

import (
	"context"
	"fmt"
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

func (l *pageLog) waitFor(t *testing.T, n int) []Page {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ps := l.snapshot(); len(ps) >= n {
			return ps
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("only %d of %d pages handled within 60 s", len(l.snapshot()), n)
	return nil
}

func startWatcher(t *testing.T, dir string, marks Marks, log *pageLog, settle time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{Dir: dir, Settle: settle, Marks: marks, Handle: log.handle,
		OnError: func(err error) { t.Logf("watcher: %v", err) }}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func TestWatcherSlowWriteReadOnceComplete(t *testing.T) {
	src := qrencodePNG(t, t.TempDir(), "slow", payloads[0], 6)
	data, _ := os.ReadFile(src)
	dir := t.TempDir()
	log := &pageLog{}
	stop := startWatcher(t, dir, &mapMarks{m: map[string]bool{}}, log, 500*time.Millisecond)
	defer stop()
	f, err := os.Create(filepath.Join(dir, "page-001.png"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := len(data)/8 + 1
	for i := 0; i < len(data); i += chunk {
		f.Write(data[i:min(i+chunk, len(data))])
		time.Sleep(100 * time.Millisecond) // a slow scanner: pauses shorter than Settle
	}
	f.Close()
	log.waitFor(t, 1)
	// Give a wrongly early second read the chance to show up, then check there is one.
	time.Sleep(1500 * time.Millisecond)
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
	stop := startWatcher(t, dir, marks, log, 200*time.Millisecond)
	// Drop all 200 at once (renames are atomic, like a scanner's finished files).
	ents, _ := os.ReadDir(stage)
	for _, e := range ents {
		if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	ps := log.waitFor(t, 200)
	stop()
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
	stop2 := startWatcher(t, dir, marks, log2, 200*time.Millisecond)
	defer stop2()
	os.WriteFile(filepath.Join(dir, "scan-200.png"), data, 0o600)
	log2.waitFor(t, 1)
	time.Sleep(time.Second) // leave room for wrong re-reads of the old files to appear
	ps2 := log2.snapshot()
	if len(ps2) != 1 || ps2[0].Name != "scan-200.png" {
		t.Fatalf("after restart handled %d files (first %s)", len(ps2), ps2[0].Name)
	}
}

func TestWatcherCorruptAndVanishing(t *testing.T) {
	dir := t.TempDir()
	log := &pageLog{}
	stop := startWatcher(t, dir, &mapMarks{m: map[string]bool{}}, log, 100*time.Millisecond)
	defer stop()
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o600)
	ps := log.waitFor(t, 1)
	if ps[0].Err == nil {
		t.Fatal("corrupt image gave no error")
	}
	// A file that disappears before it settles is not handled.
	p := filepath.Join(dir, "gone.png")
	os.WriteFile(p, []byte("x"), 0o600)
	os.Remove(p)
	os.WriteFile(filepath.Join(dir, "zz-last.png"), []byte("y"), 0o600)
	ps = log.waitFor(t, 2)
	for _, pg := range ps {
		if pg.Name == "gone.png" {
			t.Fatal("vanished file was handled")
		}
	}
}
