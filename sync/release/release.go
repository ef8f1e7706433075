// Package release is the fleet's signed releases: The Update Framework's metadata
// (go-tuf/v2) over a folder the hub serves read-only. The root key (offline, long
// expiry) certifies the release key (offline, signs targets.json: which files make
// which version) and the hub's online key (signs snapshot.json and timestamp.json with
// short expiries, re-signed by `motcua-hub release refresh`). A stolen hub key can
// only replay what the release key signed, and only until the timestamp expires; a
// frozen or replaying hub is refused by every agent once its timestamp is a day old.
//
// It never serves HTTP by itself (Handler is for the hub to mount) and never applies
// anything: agent/update does that with what Check returns.
package release

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"motcua-agent/internal/atomicfile"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Expiries of each role's metadata. Root and targets are signed offline and live long;
// snapshot and timestamp are re-signed by the hub, so a hub that stops doing so (frozen,
// replayed, cut off) is refused within TimestampExpiry.
const (
	RootExpiry      = 3 * 365 * 24 * time.Hour
	TargetsExpiry   = 365 * 24 * time.Hour
	SnapshotExpiry  = 7 * 24 * time.Hour
	TimestampExpiry = 24 * time.Hour
)

// Kind names one file of a release: each PC takes the kind it runs.
type Kind string

const (
	KindWindowsExe Kind = "exe"   // motcua-agent.exe, Windows amd64 (Authenticode-signed before publish)
	KindDeb        Kind = "deb"   // the Debian package
	KindLinux      Kind = "linux" // the bare linux amd64 binary (versioned-symlink installs)
)

// targetName is the file's name inside its version's folder of the repository.
var targetName = map[Kind]string{
	KindWindowsExe: "motcua-agent.exe",
	KindDeb:        "motcua-agent_amd64.deb",
	KindLinux:      "motcua-agent-linux-amd64",
}

// Kinds are the kinds of file a release may carry.
func Kinds() []Kind { return []Kind{KindWindowsExe, KindDeb, KindLinux} }

// Files in a release folder (DIR). The private keys root.key and release.key stay on
// the offline machine; the hub holds only hub.key and repository/.
const (
	RootKeyFile    = "root.key"
	ReleaseKeyFile = "release.key"
	HubKeyFile     = "hub.key"
	RepositoryDir  = "repository" // what the hub serves: *.json and targets/
)

// custom is what targets.json says about each file beyond its hashes.
type custom struct {
	Version string `json:"version"`
	Kind    Kind   `json:"kind"`
}

// Init makes a new release folder: three ed25519 keys (0600) and the first signed
// metadata (root, targets with no release, snapshot, timestamp). It refuses a folder
// that already holds a root key, so a root is never replaced by mistake.
func Init(dir string, now time.Time) error {
	if _, err := os.Stat(filepath.Join(dir, RootKeyFile)); err == nil {
		return fmt.Errorf("release init: %s already holds a root key; use another folder", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, RepositoryDir, "targets"), 0o755); err != nil {
		return fmt.Errorf("release init: %w", err)
	}
	keys := map[string]ed25519.PrivateKey{}
	for _, f := range []string{RootKeyFile, ReleaseKeyFile, HubKeyFile} {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("release init: generate %s: %w", f, err)
		}
		if err := writeKey(filepath.Join(dir, f), priv); err != nil {
			return fmt.Errorf("release init: %w", err)
		}
		keys[f] = priv
	}
	root := metadata.Root(now.Add(RootExpiry).UTC())
	root.Signed.ConsistentSnapshot = false
	for role, f := range map[string]string{
		metadata.ROOT: RootKeyFile, metadata.TARGETS: ReleaseKeyFile,
		metadata.SNAPSHOT: HubKeyFile, metadata.TIMESTAMP: HubKeyFile,
	} {
		k, err := metadata.KeyFromPublicKey(keys[f].Public())
		if err != nil {
			return fmt.Errorf("release init: %w", err)
		}
		if err := root.Signed.AddKey(k, role); err != nil {
			return fmt.Errorf("release init: add %s key: %w", role, err)
		}
	}
	repo := filepath.Join(dir, RepositoryDir)
	if err := signAndWrite(root, keys[RootKeyFile], repo, "1.root.json", "root.json"); err != nil {
		return err
	}
	targets := metadata.Targets(now.Add(TargetsExpiry).UTC())
	if err := signAndWrite(targets, keys[ReleaseKeyFile], repo, "targets.json"); err != nil {
		return err
	}
	return Refresh(dir, now)
}

// Publish signs a new version's files into the repository with the release key: each
// file is copied to targets/VERSION/NAME and listed with its hashes, version and kind.
// A version not greater than the newest published one is refused (versions only move
// forward). Windows executables must be Authenticode-signed before this: the hash
// covers the exact bytes. When hub.key is in dir too, snapshot and timestamp are
// re-signed at once; otherwise run Refresh on the hub after copying repository/ there.
func Publish(dir, version string, files map[Kind]string, now time.Time) error {
	if _, err := ParseVersion(version); err != nil {
		return fmt.Errorf("release publish: %w", err)
	}
	if len(files) == 0 {
		return errors.New("release publish: no file given; give at least --exe, --deb or --linux")
	}
	key, err := readKey(filepath.Join(dir, ReleaseKeyFile))
	if err != nil {
		return fmt.Errorf("release publish: %w (publish runs on the offline machine that holds the release key)", err)
	}
	repo := filepath.Join(dir, RepositoryDir)
	targets, err := metadata.Targets().FromFile(filepath.Join(repo, "targets.json"))
	if err != nil {
		return fmt.Errorf("release publish: read targets.json: %w", err)
	}
	if newest := newestVersion(targets, ""); newest != "" && CompareVersions(version, newest) <= 0 {
		return fmt.Errorf("release publish: version %s is not greater than the newest published %s; versions only move forward", version, newest)
	}
	for kind, path := range files {
		name, ok := targetName[kind]
		if !ok {
			return fmt.Errorf("release publish: unknown kind %q", kind)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("release publish: read %s file: %w", kind, err)
		}
		tpath := version + "/" + name
		tf, err := metadata.TargetFile().FromBytes(tpath, data, "sha256", "sha512")
		if err != nil {
			return fmt.Errorf("release publish: hash %s: %w", path, err)
		}
		raw, _ := json.Marshal(custom{Version: version, Kind: kind})
		msg := json.RawMessage(raw)
		tf.Custom = &msg
		dst := filepath.Join(repo, "targets", version, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("release publish: %w", err)
		}
		if err := atomicfile.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("release publish: %w", err)
		}
		targets.Signed.Targets[tpath] = tf
	}
	targets.Signed.Version++
	targets.Signed.Expires = now.Add(TargetsExpiry).UTC()
	if err := signAndWrite(targets, key, repo, "targets.json"); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, HubKeyFile)); err == nil {
		return Refresh(dir, now)
	}
	return nil
}

// Refresh is the hub's periodic duty (at least daily; hourly is fine): a new snapshot
// naming the current targets.json and a new timestamp naming that snapshot, both
// signed with hub.key and expiring SnapshotExpiry and TimestampExpiry after now.
func Refresh(dir string, now time.Time) error {
	key, err := readKey(filepath.Join(dir, HubKeyFile))
	if err != nil {
		return fmt.Errorf("release refresh: %w", err)
	}
	repo := filepath.Join(dir, RepositoryDir)
	targets, err := metadata.Targets().FromFile(filepath.Join(repo, "targets.json"))
	if err != nil {
		return fmt.Errorf("release refresh: read targets.json: %w", err)
	}
	snap := metadata.Snapshot(now.Add(SnapshotExpiry).UTC())
	ts := metadata.Timestamp(now.Add(TimestampExpiry).UTC())
	if old, err := metadata.Snapshot().FromFile(filepath.Join(repo, "snapshot.json")); err == nil {
		snap.Signed.Version = old.Signed.Version + 1
	}
	if old, err := metadata.Timestamp().FromFile(filepath.Join(repo, "timestamp.json")); err == nil {
		ts.Signed.Version = old.Signed.Version + 1
	}
	snap.Signed.Meta["targets.json"] = metadata.MetaFile(targets.Signed.Version)
	if err := signAndWrite(snap, key, repo, "snapshot.json"); err != nil {
		return err
	}
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(snap.Signed.Version)
	return signAndWrite(ts, key, repo, "timestamp.json")
}

func signAndWrite[T metadata.Roles](m *metadata.Metadata[T], key ed25519.PrivateKey, repo string, names ...string) error {
	signer, err := signature.LoadSigner(key, crypto.Hash(0))
	if err != nil {
		return fmt.Errorf("load signer: %w", err)
	}
	m.ClearSignatures()
	if _, err := m.Sign(signer); err != nil {
		return fmt.Errorf("sign %s: %w", names[0], err)
	}
	data, err := m.ToBytes(true)
	if err != nil {
		return fmt.Errorf("encode %s: %w", names[0], err)
	}
	for _, n := range names {
		if err := atomicfile.WriteFile(filepath.Join(repo, n), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeKey(path string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func readKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	ed, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read key %s: not an ed25519 key", path)
	}
	return ed, nil
}

// newestVersion is the highest version in targets, of one kind ("" for any).
func newestVersion(t *metadata.Metadata[metadata.TargetsType], kind Kind) string {
	newest := ""
	for _, tf := range t.Signed.Targets {
		c, ok := customOf(tf)
		if !ok || (kind != "" && c.Kind != kind) {
			continue
		}
		if newest == "" || CompareVersions(c.Version, newest) > 0 {
			newest = c.Version
		}
	}
	return newest
}

func customOf(tf *metadata.TargetFiles) (custom, bool) {
	var c custom
	if tf.Custom == nil || json.Unmarshal(*tf.Custom, &c) != nil {
		return c, false
	}
	if _, err := ParseVersion(c.Version); err != nil {
		return c, false
	}
	return c, true
}

// ParseVersion reads a release version: dot-separated numbers with an optional leading
// "v" (1.4.0, v2.10). Builds from git describe (80b9df3-dirty) are not releases.
func ParseVersion(v string) ([]int, error) {
	s := strings.TrimPrefix(v, "v")
	if s == "" {
		return nil, fmt.Errorf("version %q: empty; give numbers like 1.4.0", v)
	}
	var out []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" {
			return nil, fmt.Errorf("version %q: not dot-separated numbers like 1.4.0", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// CompareVersions is -1, 0 or 1 as a is older, equal or newer than b. A version that
// does not parse is older than any that does (a "dev" build takes any release).
func CompareVersions(a, b string) int {
	pa, ea := ParseVersion(a)
	pb, eb := ParseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return 0
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Published is the versions a repository folder's targets.json signs, each with its
// kinds of file, after checking targets.json against the folder's root.json (the
// release key's signature, its expiry): what the hub may offer. A targets.json that
// does not verify publishes nothing.
func Published(repoDir string, now time.Time) (map[string][]Kind, error) {
	root, err := metadata.Root().FromFile(filepath.Join(repoDir, "root.json"))
	if err != nil {
		return nil, fmt.Errorf("published releases: read root.json: %w", err)
	}
	targets, err := metadata.Targets().FromFile(filepath.Join(repoDir, "targets.json"))
	if err != nil {
		return nil, fmt.Errorf("published releases: read targets.json: %w", err)
	}
	if err := root.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return nil, fmt.Errorf("published releases: targets.json is not signed by the release key of root.json: %w", err)
	}
	if targets.Signed.IsExpired(now) {
		return nil, fmt.Errorf("published releases: targets.json expired on %s; sign it again on the offline machine (release publish)", targets.Signed.Expires.Format(time.DateOnly))
	}
	out := map[string][]Kind{}
	for _, tf := range targets.Signed.Targets {
		if c, ok := customOf(tf); ok {
			out[c.Version] = append(out[c.Version], c.Kind)
		}
	}
	return out, nil
}
