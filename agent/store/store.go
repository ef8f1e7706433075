// Package store is the agent's durable record: an append-only log of events and the
// daily counters folded from them, in one SQLite file.
//
// Every flow ends by appending one event; the counters that event changes are updated in
// the same transaction, so the two can never disagree. One writer goroutine commits
// appends in small batches (group commit); Append returns only after its batch is
// durable (WAL with synchronous=FULL).
//
// The store must never keep names, addresses or photos on its own account, and ID
// numbers only as keyed hashes (IDHasher). It never talks to devices or the network.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/metrics"
)

// Op says how a Count changes its counter.
type Op string

const (
	// OpAdd adds Value (a delta, may be negative) to the counter.
	OpAdd Op = "add"
	// OpMax raises the counter to Value if Value is larger (peaks).
	OpMax Op = "max"
	// OpUnique adds one the first time Key is seen for that day, metric and dims
	// (unique visitors by keyed hash).
	OpUnique Op = "unique"
)

// Count is one change to a daily counter, carried by the event that causes it.
type Count struct {
	Metric string            `json:"m"`
	Dims   map[string]string `json:"d,omitempty"`
	Op     Op                `json:"op,omitempty"`
	Value  int64             `json:"v,omitempty"`
	Key    string            `json:"k,omitempty"`
}

// Event is one fact in the record. Seq, Time and Boot are filled in by Append when
// zero; Day is derived from Time in the site's time zone.
type Event struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Day     string    `json:"day"`
	Boot    string    `json:"boot"`
	Kind    string    `json:"kind"`
	Site    string    `json:"site"`
	Counter string    `json:"counter,omitempty"`
	Service string    `json:"service,omitempty"`
	Attrs   Attrs     `json:"attrs,omitzero"`
	Counts  []Count   `json:"counts,omitempty"`
}

// CounterRow is one daily counter. Revision is the seq of the last event that changed
// it, so revisions only grow and "changed since" is a cheap range query.
type CounterRow struct {
	Day      string            `json:"day"`
	Metric   string            `json:"metric"`
	Dims     map[string]string `json:"dims,omitempty"`
	Value    int64             `json:"value"`
	Revision int64             `json:"revision"`
	// Epoch and Op are set on the per-epoch rows sync sends (CountersChangedSince);
	// Counters and Fold combine the epochs of a row and leave them empty.
	Epoch string `json:"epoch,omitempty"`
	Op    Op     `json:"op,omitempty"`
}

// Options configure Open.
type Options struct {
	Path     string
	Location *time.Location   // the site's time zone; UTC+7 when nil
	Now      func() time.Time // time.Now when nil
	Logger   *slog.Logger
	Metrics  *metrics.Registry
	Boot     string // boot id; random when empty
	// MaxBatch bounds how many appends one commit carries (default 256).
	MaxBatch int
	// MaxBytes caps the database size (0: no cap beyond the disk); past it appends fail
	// with ErrDiskFull exactly as on a full disk.
	MaxBytes int64
	// AnyMetric lets counts name metrics outside config/vocab: for the store's own
	// tests only. Otherwise Append refuses a count the vocabulary does not define, so a
	// flow cannot count something the dashboard and the hub cannot name.
	AnyMetric bool
}

// Store is an open record.
type Store struct {
	db        *sql.DB // readers
	wdb       *sql.DB // the writer goroutine's single connection
	stmts     writeStmts
	path      string
	loc       *time.Location
	now       func() time.Time
	log       *slog.Logger
	boot      string
	anyMetric bool
	readOnly  bool // OpenReadOnly: every write fails
	// resetAside and resetAt: this record was started afresh at Open (see Reset).
	resetAside string
	resetAt    time.Time
	tmpDir     string // OpenReadOnly of an older schema: the migrated copy
	reqs       chan writeReq
	stop       chan struct{}
	done       chan struct{}
	closed     sync.Once
	mu         sync.RWMutex // guards isClosed against sends on reqs
	isShut     bool

	faults     faults
	faultCount func(kind string) *metrics.Counter

	maxBatch   int
	appends    *metrics.Counter
	appendErrs *metrics.Counter
	latency    *metrics.Histogram
	batchSize  *metrics.Histogram
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store: closed")

// ErrDiskFull is returned (wrapped) when the disk has no room for a commit; nothing of
// the failed batch is kept and the file stays consistent. Unavailable(err) is true.
var ErrDiskFull = errors.New("store: disk full")

type writeReq struct {
	ev    *Event
	attrs []byte
	cnts  []byte
	fn    func(*sql.Tx) error
	start time.Time
	done  chan error
}

// Open opens (or creates) the record at opts.Path. A file SQLite calls damaged
// (CORRUPT, NOTADB, a failed integrity check) is moved aside with a log line and a fresh
// record is started, so a damaged disk never becomes a crash loop; Reset then says so.
// Every other failure (busy, cancelled, read-only, a newer schema) returns an error
// that says what to do, and leaves the file alone.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Location == nil {
		opts.Location = time.FixedZone("ICT", 7*3600)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	if opts.Boot == "" {
		opts.Boot = randomID()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	db, err := openChecked(ctx, opts.Path, opts.MaxBytes)
	if err != nil {
		err = classifyOpen(opts.Path, err)
		if !errors.Is(err, ErrCorrupt) {
			// Busy, cancelled, read-only, a newer schema: the file is fine, or not ours
			// to touch. Stop with a sentence that says what to do.
			return nil, err
		}
		aside, merr := moveAside(opts.Path, opts.Now())
		if merr != nil {
			return nil, fmt.Errorf("%v; and could not move the file aside: %w", err, merr)
		}
		opts.Logger.Error("store: the record is damaged; moved it aside and started a fresh one (`motcua-agent store recover FILE` sends what it still holds)",
			"path", opts.Path, "moved_to", aside, "err", err)
		opts.Metrics.Counter("motcua_store_resets_total", "Records moved aside as damaged and started afresh.").Inc()
		db, err = openChecked(ctx, opts.Path, opts.MaxBytes)
		if err != nil {
			return nil, classifyOpen(opts.Path, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('reset.aside', ?), ('reset.at', ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, aside, opts.Now().UTC().Format(time.RFC3339)); err != nil {
			db.Close()
			return nil, classifyOpen(opts.Path, err)
		}
	}
	wdb, err := sql.Open(driverFor(opts.MaxBytes), dsn(opts.Path))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: writer: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	stmts, err := prepareWrites(wdb)
	if err != nil {
		db.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	s := &Store{
		db: db, wdb: wdb, stmts: stmts, path: opts.Path, loc: opts.Location, now: opts.Now, log: opts.Logger, boot: opts.Boot, anyMetric: opts.AnyMetric,
		reqs: make(chan writeReq, 1024), stop: make(chan struct{}), done: make(chan struct{}),
		maxBatch: opts.MaxBatch,
		faultCount: func(kind string) *metrics.Counter {
			return opts.Metrics.Counter("motcua_store_faults_total", "Times the record stopped taking writes, by cause.", "kind="+kind)
		},
		appends:    opts.Metrics.Counter("motcua_store_appends_total", "Events appended and durable."),
		appendErrs: opts.Metrics.Counter("motcua_store_append_errors_total", "Appends that failed."),
		latency:    opts.Metrics.Histogram("motcua_store_append_seconds", "Time from Append to durable commit.", nil),
		batchSize: opts.Metrics.Histogram("motcua_store_batch_events", "Events per group commit.",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
	}
	s.loadReset(ctx)
	go s.writer()
	return s, nil
}

// busyTimeoutMS is how long a connection waits for another's lock before SQLITE_BUSY.
var busyTimeoutMS = 10000

func dsn(path string) string {
	// Pragmas in the DSN reach every pooled connection; a db.Exec("PRAGMA …") would not.
	return "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_foreign_keys=on&_busy_timeout=" +
		strconv.Itoa(busyTimeoutMS)
}

func openChecked(ctx context.Context, path string, maxBytes int64) (*sql.DB, error) {
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil { // private: created 0600, tightened if older
		f.Close()
		os.Chmod(path, 0o600)
	}
	db, err := sql.Open(driverFor(maxBytes), dsn(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		db.Close()
		return nil, err
	}
	if res != "ok" {
		db.Close()
		return nil, fmt.Errorf("%w: integrity check: %s", ErrCorrupt, res)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

var (
	driversMu sync.Mutex
	drivers   = map[int64]string{} // max pages → registered driver name
)

// driverFor returns a sqlite3 driver whose connect hook caps the page count, so the cap
// reaches every pooled connection.
func driverFor(maxBytes int64) string {
	if maxBytes <= 0 {
		return "sqlite3"
	}
	pages := maxBytes / 4096
	driversMu.Lock()
	defer driversMu.Unlock()
	name := fmt.Sprintf("sqlite3-maxpages-%d", pages)
	if _, ok := drivers[pages]; !ok {
		drivers[pages] = name
		sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages), nil)
			return err
		}})
	}
	return name
}

func moveAside(path string, now time.Time) (string, error) {
	aside := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	for _, suf := range []string{"-wal", "-shm"} {
		if err := os.Rename(path+suf, aside+suf); err != nil && !os.IsNotExist(err) {
			return "", err
		}
	}
	return aside, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Boot is this process's boot id, stored with every event.
func (s *Store) Boot() string { return s.boot }

// Day is the site-local calendar day of t, as YYYY-MM-DD.
func (s *Store) Day(t time.Time) string { return t.In(s.loc).Format("2006-01-02") }

// Location is the site's time zone.
func (s *Store) Location() *time.Location { return s.loc }

// Append records e durably and applies its counts. It returns e with Seq, Time, Day and
// Boot filled in, only after the commit that carries it is on disk.
func (s *Store) Append(ctx context.Context, e Event) (Event, error) {
	if e.Kind == "" {
		return e, errors.New("store: append: event has no kind")
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Day = s.Day(e.Time)
	e.Boot = s.boot
	for i, c := range e.Counts {
		if c.Metric == "" {
			return e, fmt.Errorf("store: append %s: count %d has no metric", e.Kind, i)
		}
		switch c.Op {
		case "":
			e.Counts[i].Op = OpAdd
		case OpAdd, OpMax:
		case OpUnique:
			if c.Key == "" {
				return e, fmt.Errorf("store: append %s: unique count %s has no key", e.Kind, c.Metric)
			}
		default:
			return e, fmt.Errorf("store: append %s: unknown op %q", e.Kind, c.Op)
		}
		if !s.anyMetric {
			if err := vocab.Check(c.Metric, vocab.Kind(e.Counts[i].Op), c.Dims); err != nil {
				return e, fmt.Errorf("store: append %s: %w", e.Kind, err)
			}
		}
	}
	req := writeReq{ev: &e, start: time.Now(), done: make(chan error, 1)}
	var err error
	if e.Attrs.err != nil {
		return e, fmt.Errorf("store: append %s: attributes: %w", e.Kind, e.Attrs.err)
	}
	req.attrs = e.Attrs.raw
	if len(e.Counts) > 0 {
		if req.cnts, err = json.Marshal(e.Counts); err != nil {
			return e, fmt.Errorf("store: append %s: counts: %w", e.Kind, err)
		}
	}
	if err := s.submit(ctx, req); err != nil {
		s.appendErrs.Inc()
		return e, err
	}
	s.appends.Inc()
	s.latency.Observe(time.Since(req.start).Seconds())
	return e, nil
}

// Write runs fn in a write transaction on the writer goroutine, in order with appends.
// Flows and sync use it for their own small tables; fn must be quick.
func (s *Store) Write(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.submit(ctx, writeReq{fn: fn, start: time.Now(), done: make(chan error, 1)})
}

func (s *Store) submit(ctx context.Context, req writeReq) error {
	if s.readOnly {
		return fmt.Errorf("%w: opened read-only", ErrReadOnly)
	}
	s.mu.RLock()
	if s.isShut {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the request will be committed or failed; waiting for it even when ctx
	// ends keeps "returned" and "durable" the same thing.
	return <-req.done
}

func (s *Store) writer() {
	defer close(s.done)
	for {
		var first writeReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-s.reqs:
					s.commit([]writeReq{r})
				default:
					return
				}
			}
		}
		batch := []writeReq{first}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []writeReq) {
	s.batchSize.Observe(float64(len(batch)))
	err := s.commitTx(batch)
	if err != nil && len(batch) > 1 && !Unavailable(err) {
		// One bad request must not fail its neighbours: retry each alone.
		for _, r := range batch {
			err := s.commitTx([]writeReq{r})
			s.noteWrite(err)
			r.done <- err
		}
		return
	}
	s.noteWrite(err)
	for _, r := range batch {
		r.done <- err
	}
}

func (s *Store) commitTx(batch []writeReq) (err error) {
	tx, err := s.wdb.Begin()
	if err != nil {
		return classifyWrite("begin", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, r := range batch {
		if r.fn != nil {
			if err = r.fn(tx); err != nil {
				return classifyWrite("write", err)
			}
			continue
		}
		e := r.ev
		res, err := tx.Stmt(s.stmts.event).Exec(e.Time.UnixNano(), e.Day, e.Boot, e.Kind, e.Site, e.Counter, e.Service,
			nullable(r.attrs), nullable(r.cnts))
		if err != nil {
			return classifyWrite("insert event", err)
		}
		if e.Seq, err = res.LastInsertId(); err != nil {
			return classifyWrite("insert event", err)
		}
		for _, c := range e.Counts {
			if err = s.stmts.apply(tx, e.Day, e.Boot, e.Seq, c); err != nil {
				return classifyWrite("update counter "+c.Metric, err)
			}
		}
	}
	if err = tx.Commit(); err != nil {
		return classifyWrite("commit", err)
	}
	return nil
}

type writeStmts struct{ event, unique, add, max *sql.Stmt }

func prepareWrites(db *sql.DB) (writeStmts, error) {
	var w writeStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.Prepare(q)
		return st
	}
	w.event = prep(`INSERT INTO events(time_ns, day, boot, kind, site, counter, service, attrs, counts) VALUES(?,?,?,?,?,?,?,?,?)`)
	w.unique = prep(`INSERT OR IGNORE INTO uniques(day, metric, dims, key) VALUES(?,?,?,?)`)
	w.add = prep(`INSERT INTO counters(day, metric, dims, epoch, op, value, revision) VALUES(?,?,?,?,'add',?,?)
		ON CONFLICT(day, metric, dims, epoch) DO UPDATE SET value = value + excluded.value, revision = excluded.revision`)
	w.max = prep(`INSERT INTO counters(day, metric, dims, epoch, op, value, revision) VALUES(?,?,?,?,'max',?,?)
		ON CONFLICT(day, metric, dims, epoch) DO UPDATE SET value = excluded.value, revision = excluded.revision
		WHERE excluded.value > counters.value`)
	return w, err
}

func (w writeStmts) apply(tx *sql.Tx, day, epoch string, seq int64, c Count) error {
	dims := EncodeDims(c.Dims)
	switch c.Op {
	case OpUnique:
		// Unique keys are remembered across epochs: a person seen before a restart is
		// not counted again after it.
		res, err := tx.Stmt(w.unique).Exec(day, c.Metric, dims, c.Key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.Stmt(w.add).Exec(day, c.Metric, dims, epoch, 1, seq)
		return err
	case OpAdd, "":
		_, err := tx.Stmt(w.add).Exec(day, c.Metric, dims, epoch, c.Value, seq)
		return err
	case OpMax:
		_, err := tx.Stmt(w.max).Exec(day, c.Metric, dims, epoch, c.Value, seq)
		return err
	}
	return fmt.Errorf("unknown op %q", c.Op)
}

func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// EncodeDims is the canonical text of a dimension map (sorted keys, JSON), the key
// under which counters are stored and compared.
func EncodeDims(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(d) // map keys are sorted by encoding/json
	return string(b)
}

func decodeDims(s string) map[string]string {
	if s == "" || s == "{}" {
		return nil
	}
	var m map[string]string
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

// Close flushes every queued append and closes the file.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		s.mu.Lock()
		s.isShut = true
		s.mu.Unlock()
		close(s.stop)
		<-s.done
		if s.wdb != nil {
			err = s.wdb.Close()
		}
		err = errors.Join(err, s.db.Close())
		if s.tmpDir != "" {
			os.RemoveAll(s.tmpDir)
		}
	})
	return err
}

// EventFilter selects events.
type EventFilter struct {
	AfterSeq int64
	Kinds    []string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	Limit    int       // default 1000
}

// Events lists events in seq order.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	q := `SELECT seq, time_ns, day, boot, kind, site, counter, service, attrs, counts FROM events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if len(f.Kinds) > 0 {
		q += ` AND kind IN (` + strings.TrimSuffix(strings.Repeat("?,", len(f.Kinds)), ",") + `)`
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	if !f.Since.IsZero() {
		q += ` AND time_ns >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		q += ` AND time_ns < ?`
		args = append(args, f.Until.UnixNano())
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var ns int64
		var attrs, counts sql.NullString
		if err := rows.Scan(&e.Seq, &ns, &e.Day, &e.Boot, &e.Kind, &e.Site, &e.Counter, &e.Service, &attrs, &counts); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		e.Time = time.Unix(0, ns).In(s.loc)
		if attrs.Valid {
			e.Attrs = attrsFrom([]byte(attrs.String))
		}
		if counts.Valid {
			_ = json.Unmarshal([]byte(counts.String), &e.Counts)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastSeq is the highest seq in the record (0 when empty).
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM events`).Scan(&n)
	return n.Int64, err
}

// LastRevision is the highest seq the record has ever given an event (pruned ones
// included): no counter revision in this record is above it.
func (s *Store) LastRevision(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// Counters lists the counters of one day ("" for every day), by metric then dims.
func (s *Store) Counters(ctx context.Context, day string) ([]CounterRow, error) {
	// One row per (day, metric, dims): epochs sum, except peaks, which take the largest.
	q := `SELECT day, metric, dims, CASE WHEN MAX(op) = 'max' THEN MAX(value) ELSE SUM(value) END, MAX(revision), '', ''
		FROM counters`
	var args []any
	if day != "" {
		q += ` WHERE day = ?`
		args = append(args, day)
	}
	q += ` GROUP BY day, metric, dims ORDER BY day, metric, dims`
	return s.queryCounters(ctx, q, args...)
}

// CountersChangedSince lists counters whose revision is above afterRevision, in
// revision order, at most limit rows: what sync has not yet had acknowledged.
func (s *Store) CountersChangedSince(ctx context.Context, afterRevision int64, limit int) ([]CounterRow, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.queryCounters(ctx, `SELECT day, metric, dims, value, revision, epoch, op FROM counters
		WHERE revision > ? ORDER BY revision LIMIT ?`, afterRevision, limit)
}

// CountersBacklog counts the counters changed since afterRevision.
func (s *Store) CountersBacklog(ctx context.Context, afterRevision int64) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM counters WHERE revision > ?`, afterRevision).Scan(&n)
	return n, err
}

func (s *Store) queryCounters(ctx context.Context, q string, args ...any) ([]CounterRow, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	defer rows.Close()
	var out []CounterRow
	for rows.Next() {
		var r CounterRow
		var dims string
		if err := rows.Scan(&r.Day, &r.Metric, &dims, &r.Value, &r.Revision, &r.Epoch, &r.Op); err != nil {
			return nil, fmt.Errorf("store: counters: %w", err)
		}
		r.Dims = decodeDims(dims)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Meta reads a small named value kept beside the record (a sync watermark, a
// processed-file marker).
func (s *Store) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: meta %s: %w", key, err)
	}
	return v, true, nil
}

// SetMeta writes a named value durably.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO meta(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}

// DB gives read access for queries the store does not offer (statistics pages). Writes
// must go through Append or Write.
func (s *Store) DB() *sql.DB { return s.db }

// Prune deletes events older than the retention period, and the unique-key records of
// those days. Counters are kept: they hold no personal data.
func (s *Store) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	cutoff := s.now().Add(-retention)
	var n int64
	err := s.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM events WHERE time_ns < ?`, cutoff.UnixNano())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.Exec(`DELETE FROM uniques WHERE day < ?`, s.Day(cutoff))
		return err
	})
	return n, err
}

// Fold recomputes every counter from the events alone, the way Append applies them.
// It is how tests and `motcua-agent verify` prove counters equal the fold of events
// (valid while no event was pruned).
func (s *Store) Fold(ctx context.Context) ([]CounterRow, error) {
	type key struct{ day, metric, dims, epoch string }
	vals := map[key]*CounterRow{}
	seen := map[string]bool{}
	after := int64(0)
	for {
		evs, err := s.Events(ctx, EventFilter{AfterSeq: after, Limit: 5000})
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Seq
			for _, c := range e.Counts {
				k := key{e.Day, c.Metric, EncodeDims(c.Dims), e.Boot}
				r := vals[k]
				switch c.Op {
				case OpUnique:
					uk := k.day + "\x00" + k.metric + "\x00" + k.dims + "\x00" + c.Key // across epochs
					if seen[uk] {
						continue
					}
					seen[uk] = true
					c.Value = 1
					fallthrough
				case OpAdd, "":
					if r == nil {
						r = &CounterRow{Day: e.Day, Metric: c.Metric, Dims: decodeDims(k.dims), Op: OpAdd}
						vals[k] = r
					}
					r.Value += c.Value
					r.Revision = e.Seq
				case OpMax:
					if r == nil {
						vals[k] = &CounterRow{Day: e.Day, Metric: c.Metric, Dims: decodeDims(k.dims), Value: c.Value, Revision: e.Seq, Op: OpMax}
					} else if c.Value > r.Value {
						r.Value, r.Revision = c.Value, e.Seq
					}
				}
			}
		}
	}
	// Combine the epochs of each row the way Counters does.
	type rowKey struct{ day, metric, dims string }
	combined := map[rowKey]*CounterRow{}
	for k, r := range vals {
		ck := rowKey{k.day, k.metric, k.dims}
		c := combined[ck]
		if c == nil {
			combined[ck] = &CounterRow{Day: r.Day, Metric: r.Metric, Dims: r.Dims, Value: r.Value, Revision: r.Revision}
			continue
		}
		if r.Op == OpMax {
			c.Value = max(c.Value, r.Value)
		} else {
			c.Value += r.Value
		}
		c.Revision = max(c.Revision, r.Revision)
	}
	out := make([]CounterRow, 0, len(combined))
	for _, r := range combined {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return EncodeDims(a.Dims) < EncodeDims(b.Dims)
	})
	return out, nil
}

// Sum adds up the rows of metric whose dimensions include every pair of match (all
// rows of the metric when match is empty).
func Sum(rows []CounterRow, metric string, match map[string]string) int64 {
	var n int64
rows:
	for _, row := range rows {
		if row.Metric != metric {
			continue
		}
		for k, v := range match {
			if row.Dims[k] != v {
				continue rows
			}
		}
		n += row.Value
	}
	return n
}
