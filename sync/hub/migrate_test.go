package hub

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/pgtest"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// A hub.db made by a hub from before versioned migrations (its schema, an enrolled
// device, counters, a nonce) opens: it is recorded at the latest version, its counters
// and nonces still count, its device still pushes.
func TestDatabaseFromBeforeMigrationsOpens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sql.Open("sqlite3", store.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := wire.NewSecret()
	day := "2026-11-22"
	// The old schemaSQL and view, as Open made them before schema_migrations.
	if _, err := db.Exec(store.InitialSchema()+`
		CREATE VIEW device_counters AS SELECT device, day, metric, dims, sum(value) AS value, max(revision) AS revision
			FROM counters GROUP BY device, day, metric, dims;
		INSERT INTO sites(site, province) VALUES('S1', 'Nghệ An');
		INSERT INTO devices(device, site, secret, enrolled_at) VALUES('pc1', 'S1', ?, '2026-01-01T00:00:00Z');
		INSERT INTO counters VALUES('pc1', ?, 'tickets.issued', '{}', '', 9, 4);
		INSERT INTO nonces VALUES('pc1', 'n-old', ?);`, plain, day, time.Date(2026, 11, 23, 8, 59, 0, 0, time.UTC).Unix()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	th := &testHub{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	h, err := Open(path, Options{Now: func() time.Time { return th.now }})
	if err != nil {
		t.Fatalf("open a database from before migrations: %v", err)
	}
	th.Hub = h
	var versions int
	if err := h.rdb.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != store.SchemaVersion() {
		t.Fatalf("schema_migrations holds %d versions (%v), want %d", versions, err, store.SchemaVersion())
	}
	if got := th.total(t, vocab.TicketsIssued); got != 9 {
		t.Fatalf("old counters total %d, want 9", got)
	}
	var used int
	if err := h.rdb.QueryRow(`SELECT count(*) FROM nonces WHERE nonce = 'n-old'`).Scan(&used); err != nil || used != 1 {
		t.Fatalf("old nonce kept: %d %v", used, err)
	}
	// Opening again applies nothing twice.
	h.Close()
	h, err = Open(path, Options{Now: func() time.Time { return th.now }})
	if err != nil {
		t.Fatalf("open again: %v", err)
	}
	th.Hub = h
	if err := h.rdb.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != store.SchemaVersion() {
		t.Fatalf("after a second open: %d versions (%v)", versions, err)
	}
	startServer(t, th)
	key, _ := wire.ParseSecret(plain)
	if status, er, _ := th.do(t, signedRequest{device: "pc1", secret: key, body: pushBody(t, "S1", "pc1", snap(day, vocab.TicketsIssued, 11, 5))}); status != 200 {
		t.Fatalf("push after the upgrade: %d %+v", status, er)
	}
	if got := th.total(t, vocab.TicketsIssued); got != 11 {
		t.Fatalf("after a newer revision: %d, want 11", got)
	}
}

// startServer serves th's hub on loopback for the test.
func startServer(t *testing.T, th *testHub) {
	t.Helper()
	th.srv = httptest.NewServer(th.Hub.Handler())
	t.Cleanup(func() { th.srv.Close(); th.Hub.Close() })
}

// A database newer than the hub is refused, not half-used.
func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		b := newBackend(t)
		h, err := b.open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.db.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, 'from the future', '')`, store.SchemaVersion()+40); err != nil {
			t.Fatal(err)
		}
		h.Close()
		if _, err := b.open(Options{}); err == nil {
			t.Fatal("a database at a newer schema version opened")
		}
	})
}

// Eight hubs opening one new PostgreSQL database at the same moment: every one opens,
// and each migration is applied once.
func TestHubsStartingTogetherMigrateOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.New(t)
	key := filepath.Join(t.TempDir(), "hub.key")
	// The operator made the key once and copied it to every hub.
	if _, err := loadSecretBox(key, false); err != nil {
		t.Fatal(err)
	}
	const n = 8
	hubs := make([]*Hub, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { hubs[i], errs[i] = Open(dsn, Options{KeyFile: key}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("hub %d: %v", i, errs[i])
		}
		defer hubs[i].Close()
	}
	rows, err := hubs[0].rdb.Query(`SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v, c int
		rows.Scan(&v, &c)
		if c != 1 {
			t.Fatalf("migration %d recorded %d times", v, c)
		}
		got = append(got, v)
	}
	if len(got) != store.SchemaVersion() {
		t.Fatalf("applied %v, want %d migrations", got, store.SchemaVersion())
	}
}

// On PostgreSQL every hub needs the same key file: none is refused with the reason, a
// different key is refused before it seals anything, a copy works on every hub.
func TestPostgresHubsShareTheKey(t *testing.T) {
	t.Parallel()
	dsn := pgtest.New(t)
	if _, err := Open(dsn, Options{}); !errors.Is(err, ErrKeyFileRequired) {
		t.Fatalf("without a key file: %v, want ErrKeyFileRequired", err)
	}
	dir := t.TempDir()
	keyA := filepath.Join(dir, "a.key")
	a, err := Open(dsn, Options{KeyFile: keyA})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	secret, err := a.Enroll(context.Background(), Site{Code: "S1"}, "pc1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dsn, Options{KeyFile: filepath.Join(dir, "other.key")}); !errors.Is(err, ErrKeyMismatch) && !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("a second hub with a new key: %v, want it refused", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.key")); err == nil {
		t.Fatal("a new key was made for a database that has one")
	}
	b1, _ := os.ReadFile(keyA)
	other := filepath.Join(dir, "other2.key")
	if _, err := loadSecretBox(other, false); err != nil { // a valid key, just not this database's
		t.Fatal(err)
	}
	if _, err := Open(dsn, Options{KeyFile: other}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("a second hub with another key: %v, want ErrKeyMismatch", err)
	}
	keyB := filepath.Join(dir, "b.key")
	os.WriteFile(keyB, b1, 0o600)
	b, err := Open(dsn, Options{KeyFile: keyB})
	if err != nil {
		t.Fatalf("a second hub with a copy of the key: %v", err)
	}
	defer b.Close()
	rec, err := b.lookupDevice(context.Background(), "pc1")
	if err != nil || hex.EncodeToString(rec.secret) != secret {
		t.Fatalf("the second hub reads the first hub's enrollment: %v", err)
	}
}

// Hubs enrolling one device at the same moment: exactly one secret is issued.
func TestConcurrentEnrollIssuesOneSecret(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		b := newBackend(t)
		const n = 6
		hubs := make([]*Hub, n)
		for i := range hubs {
			h, err := b.open(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			hubs[i] = h
		}
		secrets := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { secrets[i], errs[i] = hubs[i].Enroll(context.Background(), Site{Code: "S1"}, "pc1") })
		}
		wg.Wait()
		issued := ""
		for i := range n {
			switch {
			case errs[i] == nil && issued == "":
				issued = secrets[i]
			case errs[i] == nil:
				t.Fatalf("two hubs issued a secret for one device")
			case !errors.Is(errs[i], ErrAlreadyEnrolled):
				t.Fatalf("hub %d: %v", i, errs[i])
			}
		}
		rec, err := hubs[0].lookupDevice(context.Background(), "pc1")
		if issued == "" || err != nil || hex.EncodeToString(rec.secret) != issued {
			t.Fatalf("the stored secret is not the one issued (%v)", err)
		}
	})
}
