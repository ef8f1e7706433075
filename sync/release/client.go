package release

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// ErrNotNewer says the newest verified release is not newer than the running version:
// nothing to do (an older one is never offered, whatever the hub serves).
var ErrNotNewer = errors.New("no release newer than the running version")

// ErrRefused says the hub's metadata or file failed its verification (a signature, an
// expiry, a version going back, a hash): the release is not applied, and the fleet
// page should know. Other errors of Check are the hub being out of reach.
var ErrRefused = errors.New("release refused by its verification")

// ErrUnreachable says the hub's repository could not be fetched (no answer, a 5xx, a
// cut transfer): nothing was verified or applied; try again later.
var ErrUnreachable = errors.New("release repository out of reach")

// Client is the agent's view of the hub's release repository.
type Client struct {
	// TrustedRoot is root.json as shipped with the agent (or its installer): the only
	// key material the agent trusts from the start.
	TrustedRoot []byte
	// BaseURL serves the repository folder: BaseURL/timestamp.json, BaseURL/targets/….
	BaseURL string
	// CacheDir keeps the metadata last verified (DATA/release): what stops a replayed
	// older repository. It must survive restarts and updates.
	CacheDir string
	// HTTP fetches metadata and targets; nil is a client with a 60 s timeout.
	HTTP *http.Client
	// Now is the reference time for expiry; nil is time.Now.
	Now func() time.Time
}

// Found is the newest verified release of a kind and its file's bytes.
type Found struct {
	Version string
	Kind    Kind
	Name    string // the target's file name (motcua-agent.exe, …)
	Data    []byte
}

// Check fetches and verifies the repository (root → timestamp → snapshot → targets,
// TUF's client workflow: signatures, thresholds, expiry, version rollback), picks the
// newest version carrying a file of kind, refuses one not newer than running
// (ErrNotNewer) and returns its file after checking its length and hashes.
func (c Client) Check(kind Kind, running string) (Found, error) {
	return c.CheckFor(kind, running, "")
}

// CheckFor is Check for one chosen version (want; "" is the newest): what a staged
// rollout asks of a device ("this device should run V"). want must still be newer than
// running and signed like any other.
func (c Client) CheckFor(kind Kind, running, want string) (Found, error) {
	if err := os.MkdirAll(filepath.Join(c.CacheDir, "metadata"), 0o700); err != nil {
		return Found{}, fmt.Errorf("release check: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(c.CacheDir, "targets"), 0o700); err != nil {
		return Found{}, fmt.Errorf("release check: %w", err)
	}
	root := c.TrustedRoot
	// Start from the newest root already verified: a root rotation survives restarts.
	if cached, err := os.ReadFile(filepath.Join(c.CacheDir, "metadata", "root.json")); err == nil {
		if _, err := metadata.Root().FromBytes(cached); err == nil {
			root = cached
		}
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	cfg, err := config.New(base, root)
	if err != nil {
		return Found{}, fmt.Errorf("release check: %w", err)
	}
	cfg.LocalMetadataDir = filepath.Join(c.CacheDir, "metadata")
	cfg.LocalTargetsDir = filepath.Join(c.CacheDir, "targets")
	cfg.PrefixTargetsWithHash = false
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	if err := cfg.SetDefaultFetcherHTTPClient(hc); err != nil {
		return Found{}, fmt.Errorf("release check: %w", err)
	}
	if err := cfg.SetDefaultFetcherRetry(0, 1); err != nil {
		return Found{}, fmt.Errorf("release check: %w", err)
	}
	up, err := updater.New(cfg)
	if err != nil {
		return Found{}, fmt.Errorf("release check: trusted root: %w", err)
	}
	if c.Now != nil {
		up.UnsafeSetRefTime(c.Now())
	}
	if err := up.Refresh(); err != nil {
		if unreachable(err) {
			return Found{}, fmt.Errorf("release check: %w: the hub's release metadata could not be fetched: %w; nothing is applied, it is tried again later", ErrUnreachable, err)
		}
		return Found{}, fmt.Errorf("release check: %w: the hub's release metadata (%w); nothing is applied, ask the province to run 'motcua-hub release refresh' or check the hub's clock", ErrRefused, err)
	}
	var best *metadata.TargetFiles
	var bestC custom
	for _, tf := range up.GetTopLevelTargets() {
		cu, ok := customOf(tf)
		if !ok || cu.Kind != kind || (want != "" && CompareVersions(cu.Version, want) != 0) {
			continue
		}
		if best == nil || CompareVersions(cu.Version, bestC.Version) > 0 {
			best, bestC = tf, cu
		}
	}
	if best == nil {
		if want != "" {
			return Found{}, fmt.Errorf("release check: no %s file of version %s is published; publish it or ask for another version", kind, want)
		}
		return Found{}, fmt.Errorf("release check: %w: no %s release published", ErrNotNewer, kind)
	}
	if CompareVersions(bestC.Version, running) <= 0 {
		return Found{}, fmt.Errorf("release check: %w: newest %s is %s, running %s", ErrNotNewer, kind, bestC.Version, running)
	}
	_, data, err := up.DownloadTarget(best, "", "")
	if err != nil {
		if unreachable(err) {
			return Found{}, fmt.Errorf("release check: %w: download %s: %w; nothing is applied, it is tried again later", ErrUnreachable, best.Path, err)
		}
		return Found{}, fmt.Errorf("release check: %w: download %s: %w; nothing is applied", ErrRefused, best.Path, err)
	}
	return Found{Version: bestC.Version, Kind: kind, Name: filepath.Base(best.Path), Data: data}, nil
}

// unreachable says a fetch failed for the network's sake (no answer, a 5xx, a cut
// transfer), not because what came failed its verification.
func unreachable(err error) bool {
	var he *metadata.ErrDownloadHTTP
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// Handler serves a repository folder read-only (GET and HEAD only): the metadata files
// and targets/VERSION/NAME, nothing else (no listings, no dot-files, no "..").
// Mount it with http.StripPrefix, e.g. under /releases/.
func Handler(repoDir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/")
		if !servable(p) {
			http.NotFound(w, r)
			return
		}
		full := filepath.Join(repoDir, filepath.FromSlash(p))
		st, err := os.Stat(full)
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFile(w, r, full)
	})
}

// servable is a metadata file name or targets/VERSION/NAME, with plain segments only.
func servable(p string) bool {
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || strings.ContainsAny(s, "\\\x00") {
			return false
		}
	}
	switch len(segs) {
	case 1:
		return strings.HasSuffix(segs[0], ".json")
	case 3:
		return segs[0] == "targets"
	}
	return false
}
