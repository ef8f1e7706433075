// Package store is the hub's storage, the bottom of its rooms: the SQL dialects of
// SQLite and PostgreSQL (dialect.go), the numbered schema migrations and every table's
// definition (migrate.go, schema.go, federation.go), the writer that commits the pushes
// in groups (writer.go), the row budgets it enforces (rowbudget.go), the summaries it
// keeps (summary.go) and the one totals query that reads them (query.go).
//
// The rooms above (the totals, federation, the web face, the hub that wires them) use
// its exported names only: Open, Store, DB, Tx, Job, Result, Query. It imports none of
// them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3" // SQLite driver

	"motcua-agent/internal/metrics"
	"motcua-agent/sync/wire"
)

// DB is a pool of the hub's database, speaking its dialect: queries are written with
// '?' placeholders and rebound for PostgreSQL.
type DB = sqlDB

// Tx is a transaction of a DB.
type Tx = sqlTx

// Job is one authenticated, validated push waiting for the writer (NewJob).
type Job = ingestJob

// NewJob is a push of device, enrolled at site, signed with nonce, for Store.Submit.
func NewJob(device, site, nonce string, push *wire.PushRequest) *Job {
	return &ingestJob{device: device, site: site, nonce: nonce, push: push}
}

// Device is the device that signed the push.
func (j *ingestJob) Device() string { return j.device }

// Site is the device's enrolled site.
func (j *ingestJob) Site() string { return j.site }

// Push is the push itself.
func (j *ingestJob) Push() *wire.PushRequest { return j.push }

// Result is what the writer did with a Job.
type Result struct {
	Accepted, Ignored int   // snapshots stored or replaced; already held at this or a newer revision
	MaxRevision       int64 // the device's highest revision held, after this push
	Replay            bool  // the nonce was used already: nothing stored
	OverBudget        bool  // refused: past a row budget (rowbudget.go)
	Release           *wire.ReleaseOffer
	Err               error
}

func (r ingestResult) export() Result {
	return Result{Accepted: r.accepted, Ignored: r.ignored, MaxRevision: r.maxRevision, Replay: r.replay,
		OverBudget: r.overBudget, Release: r.release, Err: r.err}
}

// ErrQueueFull means a push found no place in the writer's queue within its wait.
var ErrQueueFull = errQueueFull

// Retryable reports whether err is a conflict with another writer (a PostgreSQL
// deadlock or serialization failure, SQLite busy) after which the whole transaction
// may run again.
func Retryable(err error) bool { return retryable(err) }

// AfterStore runs inside every ingest transaction that stores something, after the
// counters, the summaries and the contacts: group's jobs at the indexes stored were
// stored. It may offer a release to any of them (offers[i] for group[i]).
type AfterStore func(ctx context.Context, tx *Tx, group []*Job, stored []int, now time.Time) (offers map[int]*wire.ReleaseOffer, err error)

// Config is what the writer needs from the hub that starts it.
type Config struct {
	Now       func() time.Time // the hub's clock
	Log       *slog.Logger
	RowBudget RowBudget        // zero fields take DefaultRowBudget's
	Catalogue []Service        // the services service_totals keeps
	Commits   *metrics.Counter // group commits
	Retries   *metrics.Counter // group commits run again after a conflict
	// Waited is told how long each push waited in the writer's queue (the hub's load
	// shedder watches it); nil: nobody.
	Waited func(time.Duration)
	// AfterStore, if not nil, runs in every ingest transaction (the rollouts').
	AfterStore AfterStore
}

// Store is one hub's handle on its database: the writer's pool and the readers'.
type Store struct {
	db        *sqlDB // the writer's pool (one connection on SQLite)
	rdb       *sqlDB // readers
	adb       *sqlDB // the pushes' device look-ups (lookups.go): rdb on SQLite
	lookups   *lookups
	now       func() time.Time
	log       *slog.Logger
	rowBudget RowBudget
	summary   *summaries
	metrics   writerMetrics
	load      queueWatch
	after     AfterStore
	writer    *writer
	closing   sync.Once
	closed    error
}

type writerMetrics struct{ commits, retries *metrics.Counter }

// queueWatch tells the hub how long pushes waited in the writer's queue.
type queueWatch func(time.Duration)

func (q queueWatch) waited(d time.Duration) {
	if q != nil {
		q(d)
	}
}

// Open opens the writer's and the readers' pools of the database db names: a SQLite
// file (created 0600, tightened if older) or a postgres:// URL. Migrate brings its
// schema up to date; Start starts its writer.
func Open(db string) (*Store, error) {
	wdb, rdb, err := openDatabase(db)
	if err != nil {
		return nil, err
	}
	adb, err := openLookups(db, rdb)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	s := &Store{db: wdb, rdb: rdb, adb: adb}
	s.lookups = startLookups(s)
	return s, nil
}

// Migrate brings the database's schema up to date and (re)creates the views.
func (s *Store) Migrate(ctx context.Context) error { return migrate(ctx, s.db) }

// Start rebuilds the service summaries if the catalogue changed and starts the writer.
func (s *Store) Start(ctx context.Context, cfg Config) error {
	s.now, s.log, s.rowBudget = cfg.Now, cfg.Log, cfg.RowBudget.WithDefaults()
	s.metrics = writerMetrics{commits: cfg.Commits, retries: cfg.Retries}
	s.load, s.after = cfg.Waited, cfg.AfterStore
	s.summary = newSummaries(cfg.Catalogue)
	if err := s.summary.sync(ctx, s.db); err != nil {
		return err
	}
	s.writer = startWriter(s)
	return nil
}

// WarmUp opens, before the first push, the PostgreSQL connections the pushes use at
// once, and has each plan a read of the pushes' tables: otherwise a hub just started
// opens them, and each server process loads those tables' catalogue entries, under its
// first pushes. Only a hub about to serve needs it (a command like enroll does not).
// Failures are left to the pushes that would meet them; it gives up after 10 s.
func (s *Store) WarmUp(ctx context.Context) {
	if !s.db.d.postgres {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Every connection is held until all are open, or the pool would hand one back.
	var opened sync.WaitGroup
	var mu sync.Mutex
	var conns []*sql.Conn
	for _, p := range []struct {
		db *sqlDB
		n  int
	}{{s.db, postgresWriters}, {s.adb, lookupLoops}} {
		for range p.n {
			opened.Go(func() {
				if c, err := p.db.Conn(ctx); err == nil {
					c.ExecContext(ctx, warmQuery)
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
				}
			})
		}
	}
	opened.Wait()
	for _, c := range conns {
		c.Close()
	}
}

// warmQuery plans a read of every table a push touches, so that a new server
// connection has their catalogue entries and indexes loaded before the first push.
const warmQuery = `SELECT 1 FROM counters WHERE false UNION ALL SELECT 1 FROM nonces WHERE false
	UNION ALL SELECT 1 FROM devices WHERE false UNION ALL SELECT 1 FROM row_counts WHERE false
	UNION ALL SELECT 1 FROM counter_totals WHERE false UNION ALL SELECT 1 FROM place_totals WHERE false
	UNION ALL SELECT 1 FROM fleet WHERE false UNION ALL SELECT 1 FROM upstream_dirty WHERE false
	UNION ALL SELECT 1 FROM rollouts WHERE false`

// Close stops the writer, if started, and closes the database. Closing again returns
// the first close's error.
func (s *Store) Close() error {
	s.closing.Do(func() {
		if s.writer != nil {
			s.writer.stop()
		}
		s.lookups.stop()
		var lookups error
		if s.adb != s.rdb {
			lookups = s.adb.Close()
		}
		s.closed = errors.Join(s.rdb.Close(), lookups, s.db.Close())
	})
	return s.closed
}

// Writes is the writer's pool: enrolments, configurations, rollouts (one connection
// on SQLite, shared with the writer).
func (s *Store) Writes() *DB { return s.db }

// Reads is the readers' pool.
func (s *Store) Reads() *DB { return s.rdb }

// Postgres reports whether the database is PostgreSQL.
func (s *Store) Postgres() bool { return s.db.d.postgres }

// Submit queues a push, waiting at most wait for a place in the writer's queue, and
// waits for its commit.
func (s *Store) Submit(ctx context.Context, wait time.Duration, j *Job) Result {
	return s.writer.submit(ctx, wait, j).export()
}

// Commit stores a group at once, as the writer would (tests of the group commit).
func (s *Store) Commit(group []*Job, now time.Time) ([]Result, error) {
	return exportAll(s.writer.commit(group, now))
}

func exportAll(res []ingestResult, err error) ([]Result, error) {
	out := make([]Result, len(res))
	for i, r := range res {
		out[i] = r.export()
	}
	return out, err
}

// CommitShard is Commit by the writer loop that adds to summary rows of shard.
func (s *Store) CommitShard(group []*Job, now time.Time, shard int64) ([]Result, error) {
	return exportAll(s.writer.commitIn(group, now, shard))
}

// Trace gives f every query run through db's QueryContext or QueryRowContext (tests
// that count what a page costs); nil stops.
func (db *sqlDB) Trace(f func(q string, args []any)) { db.traced = f }

// SchemaVersion is the version of the newest migration this hub knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// InitialSchema is migration 1 (SQLite): the schema hubs made before the migrations
// were numbered (tests of the upgrade from such a database).
func InitialSchema() string { return migrations[0].sql }

// afterStore runs the hub's AfterStore in the ingest transaction.
func (s *Store) afterStore(ctx context.Context, tx *sqlTx, group []*ingestJob, stored []int, results []ingestResult, now time.Time) error {
	if s.after == nil {
		return nil
	}
	offers, err := s.after(ctx, tx, group, stored, now)
	for i, o := range offers {
		results[i].release = o
	}
	return err
}

// SQLiteDSN is the data source name of the SQLite file at path, with the hub's pragmas.
func SQLiteDSN(path string) string {
	// Pragmas go in the DSN so every pooled connection gets them.
	return "file:" + url.PathEscape(path) +
		"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on&_stmt_cache_size=256"
}

// openDatabase opens the writer's and the readers' pools of the database db names.
func openDatabase(db string) (w, r *sqlDB, err error) {
	if IsPostgres(db) {
		cfg, err := postgresConfig(db)
		if err != nil {
			return nil, nil, err
		}
		wdb, rdb := stdlib.OpenDB(*cfg), stdlib.OpenDB(*cfg)
		// One connection per writer loop; enroll and revoke take one more.
		wdb.SetMaxOpenConns(postgresWriters + 1)
		wdb.SetMaxIdleConns(postgresWriters + 1)
		rdb.SetMaxOpenConns(8)
		rdb.SetMaxIdleConns(8)
		return &sqlDB{DB: wdb, d: postgresDialect}, &sqlDB{DB: rdb, d: postgresDialect}, nil
	}
	// The database holds every device's credential: created 0600, tightened if older.
	if f, err := os.OpenFile(db, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
		os.Chmod(db, 0o600)
	}
	wdb, err := sql.Open("sqlite3", SQLiteDSN(db))
	if err != nil {
		return nil, nil, err
	}
	wdb.SetMaxOpenConns(1)
	rdb, err := sql.Open("sqlite3", SQLiteDSN(db))
	if err != nil {
		wdb.Close()
		return nil, nil, err
	}
	rdb.SetMaxOpenConns(4)
	return &sqlDB{DB: wdb, d: sqliteDialect}, &sqlDB{DB: rdb, d: sqliteDialect}, nil
}

// MaxGroup is the most pushes the writer commits in one transaction.
const MaxGroup = maxGroup
