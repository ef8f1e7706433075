package hub

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"motcua-agent/internal/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(hubChildEnv) != "" {
		os.Exit(runHubChild())
	}
	os.Exit(pgtest.Main(m))
}

// The hub's tests run on both databases: forEachBackend runs a test's body as the
// subtests "sqlite" and "postgres", and everything the body opens (startHub,
// newBackend) is on the database its subtest names.
var backends = []string{"sqlite", "postgres"}

func forEachBackend(t *testing.T, body func(t *testing.T)) {
	for _, name := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body(t)
		})
	}
}

// forEachBackendInTurn is forEachBackend for tests that measure the process (memory,
// goroutines): one backend after the other.
func forEachBackendInTurn(t *testing.T, body func(t *testing.T)) {
	for _, name := range backends {
		t.Run(name, body)
	}
}

// onPostgres says whether t runs under forEachBackend's "postgres" subtest.
func onPostgres(t testing.TB) bool {
	return slices.Contains(strings.Split(t.Name(), "/"), "postgres")
}

// backend is one fresh hub database for a test.
type backend struct {
	db      string // SQLite path or PostgreSQL DSN
	keyFile string // required on PostgreSQL; beside the file on SQLite
}

func newBackend(t testing.TB) backend {
	t.Helper()
	if onPostgres(t) {
		return backend{db: pgtest.New(t), keyFile: filepath.Join(t.TempDir(), "hub.key")}
	}
	return backend{db: filepath.Join(t.TempDir(), "hub.db")}
}

// open opens a hub on the backend's database.
func (b backend) open(opts Options) (*Hub, error) {
	if opts.KeyFile == "" {
		opts.KeyFile = b.keyFile
	}
	return Open(b.db, opts)
}
