package dossier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
)

// A scanned file is often saved under the citizen's name and ID number ("Nguyen Van An
// 001099012345.png"). Its name never reaches a log, an event or the store's meta: it
// is named there by PageRef, a hash of its name, size and modification time to the
// nanosecond, which cannot be guessed back from a name and an ID number but matches
// the file for whoever holds it (`sha256sum` of "NAME|SIZE|MTIME_NS").

// PageRef is the neutral name of a scanned file.
func PageRef(name string, size int64, mod time.Time) string {
	return "page-" + hashKey(qrimage.MarkKey(name, size, mod))[:12]
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// StoreMarks keeps the scan folder's processed-file marks in the store's meta table,
// so a restart never counts a page twice. The meta key is the hash of the mark key
// (file name, size, time), never the name.
type StoreMarks struct{ Store *store.Store }

const markPrefix = "scanfolder:"

// Seen implements qrimage.Marks. Marks written before names were hashed are still
// honoured.
func (m StoreMarks) Seen(ctx context.Context, key string) (bool, error) {
	_, ok, err := m.Store.Meta(ctx, markPrefix+hashKey(key))
	if err != nil || ok {
		return ok, err
	}
	_, ok, err = m.Store.Meta(ctx, markPrefix+key)
	return ok, err
}

// Mark implements qrimage.Marks.
func (m StoreMarks) Mark(ctx context.Context, key string) error {
	return m.Store.SetMeta(ctx, markPrefix+hashKey(key), time.Now().UTC().Format(time.RFC3339))
}

// Pages attributes scanned pages to dossiers: a page with a receipt code starts (or
// continues) that dossier; pages without one that follow within FollowFor belong to
// the last dossier seen, as a batch scan of "receipt, then its components" produces.
type Pages struct {
	Flow       *Flow
	Classifier *qrpayload.Classifier
	Counter    string
	FollowFor  time.Duration
	current    qrpayload.Receipt
	lastPage   time.Time
}

// Handle is a qrimage.Watcher's Handle.
func (p *Pages) Handle(ctx context.Context, page qrimage.Page) error {
	now := p.Flow.Now()
	ref := PageRef(page.Name, page.Size, page.ModTime)
	var found *qrpayload.Receipt
	refusals := 0
	for _, c := range page.Codes {
		r, err := p.Classifier.ParseReceipt(c.Text)
		if err == nil {
			found = &r
			break
		}
		if !isNotCode(err) {
			refusals++ // an ID number or a malformed code: counted, never recorded
		}
	}
	if found == nil && p.current.Code != "" && now.Sub(p.lastPage) <= p.FollowFor {
		found = &p.current
	}
	if found == nil {
		attrs := PageUnmatchedAttrs{Page: ref, Ext: strings.ToLower(filepath.Ext(page.Name)), Codes: len(page.Codes), RefusedCodes: refusals}
		var why string
		if page.Err != nil {
			why = scrubNames(page.Err.Error(), map[string]string{page.Name: ref, page.Path: ref})
			attrs.Error = why
		}
		_, err := p.Flow.Store.Append(ctx, store.Event{Kind: KindPageUnmatched, Site: p.Flow.Site, Counter: p.Counter,
			Attrs: store.AttrsOf(attrs)})
		p.Flow.Log.Warn("scanned page has no dossier receipt code", "page", ref, "codes", len(page.Codes), "err", why)
		return err
	}
	p.current, p.lastPage = *found, now
	_, err := p.Flow.Digitized(ctx, found.Code, found.Service, p.Counter, "scan-folder", false, 1, 1)
	return err
}

func isNotCode(err error) bool {
	return errors.Is(err, qrpayload.ErrNotDossierCode) && !errors.Is(err, qrpayload.ErrBadDossierCode)
}

// FolderErrors is the scan-folder watcher's OnError: it logs each problem with the
// folder's file names replaced by their PageRef.
func FolderErrors(dir string, log *slog.Logger) func(error) {
	return func(err error) {
		log.Warn("scan folder", "err", ScrubFolderNames(dir, err.Error()))
	}
}

// imageNameRe finds what is left of a file name in a message once the folder's own
// files were replaced (a file removed meanwhile).
var imageNameRe = regexp.MustCompile(`[^:/\\]*\.(?i:png|jpe?g|gif|tiff?|bmp|pdf)\b`)

// ScrubFolderNames replaces the names of the files in dir found in msg by their
// PageRef, and any other image file name by "(a file)".
func ScrubFolderNames(dir, msg string) string {
	refs := map[string]string{}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && strings.Contains(msg, e.Name()) {
				refs[e.Name()] = PageRef(e.Name(), info.Size(), info.ModTime())
			}
		}
	}
	return scrubNames(msg, refs)
}

func scrubNames(msg string, refs map[string]string) string {
	names := make([]string, 0, len(refs))
	for n := range refs {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) }) // a path before its base name
	for _, n := range names {
		msg = strings.ReplaceAll(msg, n, refs[n])
	}
	return imageNameRe.ReplaceAllStringFunc(msg, func(s string) string {
		if strings.HasPrefix(strings.TrimSpace(s), "page-") {
			return s
		}
		return fmt.Sprintf("(a %s file)", strings.ToLower(strings.TrimPrefix(filepath.Ext(s), ".")))
	})
}
