package qrimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Marks remembers which files were processed, durably, so a restart never reads a file
// twice. Implementations must make Mark durable before returning.
type Marks interface {
	Seen(ctx context.Context, key string) (bool, error)
	Mark(ctx context.Context, key string) error
}

// Page is one image file found in the watched folder.
type Page struct {
	Path    string
	Name    string
	Size    int64
	ModTime time.Time
	Codes   []Code
	// Err is why the file gave no codes (ErrNoCode, a corrupt image, a file that
	// disappeared …).
	Err error
}

// Watcher watches a folder a document scanner writes into and decodes each image
// once it is completely written: its size and time stayed unchanged for Settle with no
// write events. Files are handled in name order (scanners number pages), one at a
// time; a burst is queued, never dropped (the folder is listed again after an
// overflow).
type Watcher struct {
	Dir     string
	Settle  time.Duration
	Options Options
	Marks   Marks
	// Handle is called once per file; the file is marked processed after it returns
	// nil (an error leaves it to be retried at the next start).
	Handle func(ctx context.Context, p Page) error
	// OnError is told of watcher problems (may be nil).
	OnError func(err error)
	// Now and Tick are the watcher's clock: a file is handled at the first tick at
	// which Now is Settle past its last change. time.Now and a ticker of Settle/4 when
	// nil; tests drive both.
	Now  func() time.Time
	Tick <-chan time.Time
}

// imageExts are the formats decoded; other files (the scanner's temporaries, PDFs)
// are ignored.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".tif": true, ".tiff": true, ".bmp": true}

// IsImageFile reports a file the watcher and `qr decode FOLDER` decode: an image
// extension, not a dot-file or a `~` temporary.
func IsImageFile(name string) bool {
	base := filepath.Base(name)
	if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "~") {
		return false
	}
	return imageExts[strings.ToLower(filepath.Ext(base))]
}

// MarkKey identifies a file's version: its name, size and modification time.
func MarkKey(name string, size int64, mod time.Time) string {
	return fmt.Sprintf("%s|%d|%d", name, size, mod.UnixNano())
}

type pendingFile struct {
	size    int64
	mod     time.Time
	changed time.Time // last time an event or a stat showed a change
}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Settle <= 0 {
		w.Settle = time.Second
	}
	if err := os.MkdirAll(w.Dir, 0o750); err != nil {
		return fmt.Errorf("scan folder: %w", err)
	}
	fw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return fmt.Errorf("scan folder: watcher: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(w.Dir); err != nil {
		return fmt.Errorf("scan folder: watch %s: %w", w.Dir, err)
	}
	pending := map[string]*pendingFile{}
	touch := func(name string) {
		if !IsImageFile(name) {
			return
		}
		if p, ok := pending[name]; ok {
			p.changed = w.Now()
			return
		}
		pending[name] = &pendingFile{size: -1, changed: w.Now()}
	}
	list := func() {
		ents, err := os.ReadDir(w.Dir)
		if err != nil {
			w.report(fmt.Errorf("scan folder: list: %w", err))
			return
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				touch(e.Name())
			}
		}
	}
	list() // files written while the agent was stopped
	ticks := w.Tick
	if ticks == nil {
		tick := time.NewTicker(max(w.Settle/4, 5*time.Millisecond))
		defer tick.Stop()
		ticks = tick.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("scan folder: watcher closed")
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Chmod) {
				touch(filepath.Base(ev.Name))
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				delete(pending, filepath.Base(ev.Name))
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("scan folder: watcher closed")
			}
			w.report(fmt.Errorf("scan folder: %w", err))
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				list()
			}
		case <-ticks:
			w.settle(ctx, pending)
		}
	}
}

func (w *Watcher) report(err error) {
	if w.OnError != nil {
		w.OnError(err)
	}
}

// settle handles, in name order, the pending files that stayed unchanged for Settle.
func (w *Watcher) settle(ctx context.Context, pending map[string]*pendingFile) {
	now := w.Now()
	var ready []string
	for name, p := range pending {
		st, err := os.Stat(filepath.Join(w.Dir, name))
		if err != nil {
			delete(pending, name) // gone before it settled
			continue
		}
		if st.Size() != p.size || !st.ModTime().Equal(p.mod) {
			p.size, p.mod, p.changed = st.Size(), st.ModTime(), now
			continue
		}
		if now.Sub(p.changed) >= w.Settle {
			ready = append(ready, name)
		}
	}
	sort.Strings(ready)
	for _, name := range ready {
		if ctx.Err() != nil {
			return
		}
		p := pending[name]
		delete(pending, name)
		if err := w.process(ctx, name, p); err != nil {
			w.report(err)
		}
	}
}

func (w *Watcher) process(ctx context.Context, name string, p *pendingFile) error {
	key := MarkKey(name, p.size, p.mod)
	seen, err := w.Marks.Seen(ctx, key)
	if err != nil {
		return fmt.Errorf("scan folder: %s: marks: %w", name, err)
	}
	if seen {
		return nil
	}
	path := filepath.Join(w.Dir, name)
	page := Page{Path: path, Name: name, Size: p.size, ModTime: p.mod}
	page.Codes, page.Err = DecodeFile(path, w.Options)
	if errors.Is(page.Err, os.ErrNotExist) {
		return nil // removed while being read: nothing to count
	}
	if err := w.Handle(ctx, page); err != nil {
		return fmt.Errorf("scan folder: %s: %w", name, err)
	}
	if err := w.Marks.Mark(ctx, key); err != nil {
		return fmt.Errorf("scan folder: %s: mark processed: %w", name, err)
	}
	return nil
}
