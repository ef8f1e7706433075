package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/internal/pgtest"
)

// Pushes that look up at the same moment share queries, and each still gets its own
// answer: its device's row, whether its nonce was seen, or ErrNoDevice; a caller that
// gave up gets its own error at once.
func TestLookupsShareQueriesAndAnswerEach(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "hub.db") },
		"postgres": func(t *testing.T) string { return pgtest.New(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s := openMigrated(t, open(t))
			ctx := context.Background()
			const devices = 50
			for i := range devices {
				revoked := any(nil)
				if i%7 == 0 {
					revoked = "2026-11-01T00:00:00Z"
				}
				if _, err := s.db.Exec(`INSERT INTO devices(device, site, secret, enrolled_at, revoked_at) VALUES(?, ?, ?, '2026-01-01T00:00:00Z', ?)`,
					fmt.Sprintf("pc%d", i), fmt.Sprintf("S%d", i%5), fmt.Sprintf("sealed-%d", i), revoked); err != nil {
					t.Fatal(err)
				}
				if _, err := s.db.Exec(`INSERT INTO nonces(device, nonce, seen_at) VALUES(?, 'used', 0)`, fmt.Sprintf("pc%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			var queries atomic.Int64
			s.adb.Trace(func(q string, _ []any) { queries.Add(1) })
			var wg sync.WaitGroup
			errs := make(chan error, 2000)
			for g := range 2000 {
				wg.Go(func() {
					i := g % (devices + 10) // the last ten are not enrolled
					device, nonce := fmt.Sprintf("pc%d", i), fmt.Sprintf("n%d", g)
					if g%3 == 0 {
						nonce = "used"
					}
					dev, used, err := s.LookupPush(ctx, device, nonce)
					switch {
					case i >= devices:
						if !errors.Is(err, ErrNoDevice) {
							errs <- fmt.Errorf("%s (not enrolled): %+v %v, want ErrNoDevice", device, dev, err)
						}
					case err != nil:
						errs <- fmt.Errorf("%s: %v", device, err)
					case dev.Site != fmt.Sprintf("S%d", i%5) || dev.Secret != fmt.Sprintf("sealed-%d", i) || dev.Revoked != (i%7 == 0) || used != (nonce == "used"):
						errs <- fmt.Errorf("%s nonce %s: got %+v used=%v", device, nonce, dev, used)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// On PostgreSQL, a round trip away, look-ups queue while a query runs (SQLite
			// answers most before the next one asks).
			n := queries.Load()
			t.Logf("2,000 look-ups at once: %d queries", n)
			if s.Postgres() && n > 1000 {
				t.Errorf("2,000 look-ups at once took %d queries: few shared", n)
			}
			// A look-up whose caller gave up returns at once with the caller's error.
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if _, _, err := s.LookupPush(cancelled, "pc1", "x"); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled look-up: %v", err)
			}
		})
	}
}

// Once the store is closed, a look-up is refused at once, never left waiting for loops
// that have ended (its queue may still take it).
func TestLookupAfterCloseIsRefused(t *testing.T) {
	s := openMigrated(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * maxLookups {
		done := make(chan error, 1)
		go func() {
			_, _, err := s.LookupPush(context.Background(), "pc1", fmt.Sprint(i))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("look-up %d after close: no error", i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("look-up %d after close still waits", i)
		}
	}
	// A second close (a deferred one after an explicit one) neither panics nor fails.
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// A hub about to serve on PostgreSQL has its pushes' connections open before the first push:
// the writer's and the look-ups' (a hub just started opened them under its first
// pushes, which then waited for them: its first half second's p99 was 0.3 s).
func TestWarmUpOpensThePushesConnections(t *testing.T) {
	s := openMigrated(t, pgtest.New(t))
	ctx := context.Background()
	// Migrations used the writer's pool: start from no open connection.
	s.db.SetMaxIdleConns(0)
	s.db.SetMaxIdleConns(postgresWriters + 1)
	if n := s.db.Stats().OpenConnections + s.adb.Stats().OpenConnections; n != 0 {
		t.Fatalf("%d connections open before Start", n)
	}
	if err := s.Start(ctx, Config{Now: time.Now, Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	s.WarmUp(ctx)
	if w, a := s.db.Stats().Idle, s.adb.Stats().Idle; w < postgresWriters || a != lookupLoops {
		t.Fatalf("after WarmUp: %d idle writer connections (want %d), %d idle look-up connections (want %d)", w, postgresWriters, a, lookupLoops)
	}
}

// openMigrated opens a store on db with its schema up to date, closed when the test
// ends (closing again is allowed).
func openMigrated(t *testing.T, db string) *Store {
	t.Helper()
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
