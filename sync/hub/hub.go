// Package hub is the reference provincial receiver: it enrolls and revokes agents,
// authenticates their pushes, stores each agent's counters idempotently in SQLite, sums
// them across agents for the province's daily, weekly and monthly tables, and shows the
// fleet.
//
// It must never store a push it could not authenticate or validate in full, never let
// an older revision overwrite a newer one, and never hold personal data: it receives
// counters and device states only.
package hub

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // SQLite driver

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// Options tune a hub. Zero values mean the defaults.
type Options struct {
	Now      func() time.Time // the hub's clock; time.Now by default
	Log      *slog.Logger
	Location *time.Location // the province's time zone for "today"; Asia/Ho_Chi_Minh (UTC+7) by default
	// Catalogue is the list of essential services of the monthly report;
	// EssentialServices by default.
	Catalogue []Service
	// ReportToken, when set, is required (Authorization: Bearer T, or ?token=T) to read
	// the page, the reports and the fleet. Pushes are authenticated per device anyway.
	ReportToken string
	// OpenFleet shows the fleet (device names, versions, states) without a report
	// token. By default the fleet is shown only behind the token: device names are what
	// an attacker needs to aim pushes at.
	OpenFleet bool
	// KeyFile holds the key that seals the device secrets in the database; KeyFile(path)
	// by default. Created 0600 on first open; back it up with the database.
	KeyFile string
	// BodyBudget and BodyBudgetPerAddress cap the bytes of push bodies being received
	// before they can be authenticated (DefaultBodyBudget, DefaultBodyBudgetPerAddress).
	BodyBudget, BodyBudgetPerAddress int64
	// StaleAfter is how long a site may stay silent before the page flags it
	// (DefaultStaleAfter).
	StaleAfter time.Duration
}

// Hub is one provincial receiver over one SQLite file.
type Hub struct {
	db      *sql.DB // the single writer connection
	rdb     *sql.DB // readers
	now     func() time.Time
	log     *slog.Logger
	loc     *time.Location
	catalog []Service
	token   string
	writer  *writer
	metrics *hubMetrics
	bodies  *bodyBudget
	box     *secretBox
	fleet   bool // the fleet may be shown to whoever passes the readers' check
	stale   time.Duration
}

const schemaSQL = `
CREATE TABLE IF NOT EXISTS sites(
	site TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	province TEXT NOT NULL DEFAULT '',
	commune TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS devices(
	device TEXT PRIMARY KEY,
	site TEXT NOT NULL,
	secret TEXT NOT NULL,
	enrolled_at TEXT NOT NULL,
	revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS counters(
	device TEXT NOT NULL,
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	dims TEXT NOT NULL,
	epoch TEXT NOT NULL DEFAULT '',
	value INTEGER NOT NULL,
	revision INTEGER NOT NULL,
	PRIMARY KEY(device, day, metric, dims, epoch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counters_by_day ON counters(day, metric);
CREATE INDEX IF NOT EXISTS counters_by_revision ON counters(device, revision);
CREATE TABLE IF NOT EXISTS nonces(
	device TEXT NOT NULL,
	nonce TEXT NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY(device, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces(seen_at);
CREATE TABLE IF NOT EXISTS fleet(
	device TEXT PRIMARY KEY,
	version TEXT NOT NULL DEFAULT '',
	last_contact TEXT NOT NULL,
	clock_offset_ms INTEGER NOT NULL DEFAULT 0,
	backlog INTEGER NOT NULL DEFAULT 0,
	devices TEXT NOT NULL DEFAULT '[]',
	watermark INTEGER NOT NULL DEFAULT 0,
	pushes INTEGER NOT NULL DEFAULT 0
);
`

// addEpochs upgrades a hub database from before epochs: its counters become the empty
// epoch, which is what schema-1 agents still send.
func addEpochs(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('counters')`).Scan(&n); err != nil || n == 0 {
		return err // no table yet: schemaSQL creates it
	}
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('counters') WHERE name = 'epoch'`).Scan(&n); err != nil || n == 1 {
		return err
	}
	_, err := db.Exec(`BEGIN;
		CREATE TABLE counters_epochs(
			device TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL, dims TEXT NOT NULL,
			epoch TEXT NOT NULL DEFAULT '', value INTEGER NOT NULL, revision INTEGER NOT NULL,
			PRIMARY KEY(device, day, metric, dims, epoch)
		) WITHOUT ROWID;
		INSERT INTO counters_epochs(device, day, metric, dims, value, revision)
			SELECT device, day, metric, dims, value, revision FROM counters;
		DROP TABLE counters;
		ALTER TABLE counters_epochs RENAME TO counters;
		COMMIT;`)
	if err != nil {
		db.Exec(`ROLLBACK`)
	}
	return err
}

// deviceCountersView is each device's counters with its epochs combined: summed, except
// the metrics the vocabulary folds by maximum (peaks), which take the largest. Every
// report reads this view, never the per-epoch table.
func deviceCountersView() string {
	var peaks []string
	for _, d := range vocab.Metrics() {
		if d.Kind == vocab.Max {
			peaks = append(peaks, "'"+d.Name+"'")
		}
	}
	if len(peaks) == 0 {
		peaks = append(peaks, "''")
	}
	return `
DROP VIEW IF EXISTS device_counters;
CREATE VIEW device_counters AS
	SELECT device, day, metric, dims,
		CASE WHEN metric IN (` + strings.Join(peaks, ", ") + `) THEN max(value) ELSE sum(value) END AS value,
		max(revision) AS revision
	FROM counters GROUP BY device, day, metric, dims;
`
}

func dsn(path string) string {
	// Pragmas go in the DSN so every pooled connection gets them.
	return "file:" + url.PathEscape(path) +
		"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on"
}

// Open opens (creating if needed) the hub database at path and starts its writer.
func Open(path string, opts Options) (*Hub, error) {
	// The database holds every device's credential: created 0600, tightened if older.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
		os.Chmod(path, 0o600)
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open hub database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := addEpochs(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("upgrade hub schema in %s: %w", path, err)
	}
	if _, err := db.Exec(schemaSQL + deviceCountersView() + federationSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create hub schema in %s: %w", path, err)
	}
	sealed, err := hasSealed(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read hub database %s: %w", path, err)
	}
	keyFile := opts.KeyFile
	if keyFile == "" {
		keyFile = KeyFile(path)
	}
	box, err := loadSecretBox(keyFile, sealed)
	if err != nil {
		db.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open hub database %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(4)
	h := &Hub{db: db, rdb: rdb, box: box, now: opts.Now, log: opts.Log, loc: opts.Location, catalog: opts.Catalogue, token: opts.ReportToken}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.loc == nil {
		h.loc = time.FixedZone("ICT", 7*3600)
	}
	if h.catalog == nil {
		h.catalog = EssentialServices
	}
	if n, err := h.sealPlainSecrets(); err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("seal device secrets in %s: %w", path, err)
	} else if n > 0 {
		h.log.Info("sealed device secrets kept in plain text", "devices", n, "key", keyFile)
	}
	h.metrics = newHubMetrics()
	h.bodies = newBodyBudget(opts.BodyBudget, opts.BodyBudgetPerAddress)
	h.fleet = opts.OpenFleet || opts.ReportToken != ""
	h.stale = cmp.Or(opts.StaleAfter, DefaultStaleAfter)
	h.writer = startWriter(h)
	return h, nil
}

// Close stops the writer and closes the database.
func (h *Hub) Close() error {
	h.writer.stop()
	return errors.Join(h.rdb.Close(), h.db.Close())
}

// Site describes where a device stands in the two-tier administration.
type Site struct {
	Code     string
	Name     string
	Province string
	Commune  string
}

// ErrAlreadyEnrolled means the device has a live secret; revoke it first to re-enroll.
var ErrAlreadyEnrolled = errors.New("device already enrolled")

// Enroll creates a device with a fresh secret and returns the secret. Site details that
// are non-empty update the site's record. A revoked device may be enrolled again; it
// gets a new secret.
func (h *Hub) Enroll(ctx context.Context, site Site, device string) (string, error) {
	if !wire.ValidName(site.Code) || !wire.ValidName(device) {
		return "", fmt.Errorf("enroll: site and device must be short names of letters, digits, '.', '_', ':', '-'")
	}
	secret, err := wire.NewSecret()
	if err != nil {
		return "", err
	}
	sealed, err := h.box.seal(device, secret)
	if err != nil {
		return "", err
	}
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("enroll %s: begin: %w", device, err)
	}
	defer tx.Rollback()
	var revoked sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT revoked_at FROM devices WHERE device = ?`, device).Scan(&revoked)
	switch {
	case err == nil && !revoked.Valid:
		return "", fmt.Errorf("enroll %s: %w (revoke it first to issue a new secret)", device, ErrAlreadyEnrolled)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("enroll %s: look up: %w", device, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sites(site, name, province, commune) VALUES(?, ?, ?, ?)
		ON CONFLICT(site) DO UPDATE SET
			name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
			province = CASE WHEN excluded.province != '' THEN excluded.province ELSE province END,
			commune = CASE WHEN excluded.commune != '' THEN excluded.commune ELSE commune END`,
		site.Code, site.Name, site.Province, site.Commune)
	if err != nil {
		return "", fmt.Errorf("enroll %s: save site: %w", device, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO devices(device, site, secret, enrolled_at) VALUES(?, ?, ?, ?)
		ON CONFLICT(device) DO UPDATE SET site = excluded.site, secret = excluded.secret,
			enrolled_at = excluded.enrolled_at, revoked_at = NULL`,
		device, site.Code, sealed, h.now().UTC().Format(time.RFC3339))
	if err != nil {
		return "", fmt.Errorf("enroll %s: save device: %w", device, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("enroll %s: commit: %w", device, err)
	}
	return secret, nil
}

// ErrUnknownDevice means no such device was ever enrolled.
var ErrUnknownDevice = errors.New("unknown device")

// Revoke stops a device's pushes from being accepted. Its counters stay in the totals.
func (h *Hub) Revoke(ctx context.Context, device string) error {
	res, err := h.db.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE device = ? AND revoked_at IS NULL`,
		h.now().UTC().Format(time.RFC3339), device)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", device, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var x int
		if err := h.db.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE device = ?`, device).Scan(&x); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revoke %s: %w", device, ErrUnknownDevice)
		}
	}
	return nil
}

type deviceRecord struct {
	site    string
	secret  []byte
	revoked bool
}

func (h *Hub) lookupDevice(ctx context.Context, device string) (deviceRecord, error) {
	var rec deviceRecord
	var secret string
	var revoked sql.NullString
	err := h.rdb.QueryRowContext(ctx, `SELECT site, secret, revoked_at FROM devices WHERE device = ?`, device).
		Scan(&rec.site, &secret, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, ErrUnknownDevice
	}
	if err != nil {
		return rec, fmt.Errorf("look up device %s: %w", device, err)
	}
	if secret, err = h.box.open(device, secret); err != nil {
		return rec, fmt.Errorf("device %s: stored secret: %w", device, err)
	}
	rec.secret, err = wire.ParseSecret(secret)
	if err != nil {
		return rec, fmt.Errorf("device %s: stored secret: %w", device, err)
	}
	rec.revoked = revoked.Valid
	return rec, nil
}

func (h *Hub) today() time.Time {
	t := h.now().In(h.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
