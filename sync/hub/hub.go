// Package hub is the reference provincial receiver: it enrolls and revokes agents,
// authenticates their pushes, stores each agent's counters idempotently in SQLite or
// PostgreSQL, sums them across agents for the province's daily, weekly and monthly
// tables, and shows the fleet.
//
// It must never store a push it could not authenticate or validate in full, never let
// an older revision overwrite a newer one, and never hold personal data: it receives
// counters and device states only.
//
// This package is the top room and the one that wires the others: the agents' API and
// its guards against a hostile network, enrolment and sealed secrets, configurations
// and rollouts from the hub. Below it, each importing only what is below:
// sync/hub/web (the statisticians' page, reports and exports, on this package's
// exported methods through web.Hub), sync/hub/totals (validate, fold, ask),
// sync/hub/federation (the uploader to the national hub) and sync/hub/store (the
// database, its migrations and the writer) at the bottom.
package hub

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/hub/totals"
	"motcua-agent/sync/hub/web"
	"motcua-agent/sync/wire"
)

// The names of the storage and the totals' questions the hub's callers use, kept
// where they were before the storage became its own package (sync/hub/store).
type (
	Period    = store.Period
	Filter    = store.Filter
	Query     = store.Query
	Row       = store.Row
	Report    = store.Report
	Service   = store.Service
	RowBudget = store.RowBudget
)

// Metric names the service table reads; reserved dimension keys of a provincial hub's
// rows (store.DimSite).
const (
	MetricDossiersReceived  = store.MetricDossiersReceived
	MetricDossiersDigitized = store.MetricDossiersDigitized
	DimSite                 = store.DimSite
	DimCommune              = store.DimCommune
)

var (
	// EssentialServices are the 25 rows of the monthly report.
	EssentialServices = store.EssentialServices
	// DefaultRowBudget caps a device's and a site's rows (store.DefaultRowBudget).
	DefaultRowBudget = store.DefaultRowBudget
)

// ParsePeriod reads "day" 2026-11-23, "week" 2026-W48 (ISO week) or "month" 2026-11.
func ParsePeriod(kind, at string) (Period, error) { return store.ParsePeriod(kind, at) }

// LoadCatalogue reads a catalogue of essential services (CSV no,code,name,level).
func LoadCatalogue(r io.Reader) ([]Service, error) { return store.LoadCatalogue(r) }

// IsPostgres reports whether db is a PostgreSQL URL rather than a SQLite path.
func IsPostgres(db string) bool { return store.IsPostgres(db) }

// Redact is db with any password taken out, for logs and errors.
func Redact(db string) string { return store.Redact(db) }

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
	// by default on SQLite, required on PostgreSQL (every hub of the database needs the
	// same). Created 0600 on first open; back it up with the database.
	KeyFile string
	// BodyBudget and BodyBudgetPerAddress cap the bytes of push bodies being received
	// before they can be authenticated (DefaultBodyBudget, DefaultBodyBudgetPerAddress).
	BodyBudget, BodyBudgetPerAddress int64
	// MaxPushesInFlight and QueueWait shed load: past MaxPushesInFlight pushes at once a
	// push is answered 503 busy with Retry-After at once, and an admitted push waits at
	// most QueueWait for the writer (DefaultMaxPushesInFlight, DefaultQueueWait).
	MaxPushesInFlight int
	QueueWait         time.Duration
	// RowBudget caps the distinct rows a device and a site may hold (DefaultRowBudget).
	RowBudget RowBudget
	// StaleAfter is how long a site may stay silent before the page flags it
	// (DefaultStaleAfter).
	StaleAfter time.Duration
	// Releases is the folder of the province's signed releases (serve --releases): a
	// rollout offers only a version its repository signs. No rollout offers without it.
	Releases string
}

// Hub is one provincial receiver over one SQLite file or one PostgreSQL database (which
// other hubs may share).
type Hub struct {
	store   *store.Store
	totals  *totals.Totals
	web     *web.Face // the statisticians' page and reports
	db      *store.DB // the writer's pool (one connection on SQLite): store.Writes()
	rdb     *store.DB // readers: store.Reads()
	now     func() time.Time
	log     *slog.Logger
	loc     *time.Location
	catalog []Service
	token   string
	metrics *hubMetrics
	bodies  *bodyBudget
	// decoy is the secret an unknown device's push is checked against: no signature
	// matches it, and the push is read and refused as one with a wrong secret.
	decoy     []byte
	rowBudget RowBudget
	load      *loadShedder
	refusals  refusalLog
	box       *secretBox
	fleet     bool // the fleet may be shown to whoever passes the readers' check
	stale     time.Duration
	// releases are the versions a rollout may offer (rollout.go); rolloutWarn says once
	// that a rollout's release is not among them.
	releases    *publishedReleases
	rolloutWarn sync.Once
	steering    *configSteer // configurations from the hub (configs.go)
}

// ErrKeyFileRequired means a hub on PostgreSQL was opened without Options.KeyFile.
var ErrKeyFileRequired = errors.New("a hub on PostgreSQL needs a key file (--key-file)")

// Open opens the hub database db, creating and migrating its schema as needed, and
// starts its writer. db is a SQLite file path, or a postgres:// (postgresql://) URL;
// several hubs may open the same PostgreSQL database at once, each with the same
// Options.KeyFile.
func Open(db string, opts Options) (*Hub, error) {
	name := Redact(db)
	keyFile := opts.KeyFile
	if keyFile == "" {
		if IsPostgres(db) {
			return nil, fmt.Errorf("open hub database %s: %w: every hub on one database seals the device "+
				"secrets with the same key, which is never kept in the database; give each hub the same "+
				"key file (the first hub creates it, mode 0600; copy it to the others)", name, ErrKeyFileRequired)
		}
		keyFile = KeyFile(db)
	}
	st, err := store.Open(db)
	if err != nil {
		return nil, fmt.Errorf("open hub database %s: %w", name, err)
	}
	fail := func(err error) (*Hub, error) {
		st.Close()
		return nil, err
	}
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		return fail(fmt.Errorf("migrate hub schema in %s: %w", name, err))
	}
	wdb := st.Writes()
	sealed, err := hasSealed(wdb)
	if err != nil {
		return fail(fmt.Errorf("read hub database %s: %w", name, err))
	}
	box, err := loadSecretBox(keyFile, sealed)
	if err != nil {
		return fail(err)
	}
	if err := checkKey(ctx, wdb, box, keyFile); err != nil {
		return fail(err)
	}
	h := &Hub{store: st, db: wdb, rdb: st.Reads(), box: box, now: opts.Now, log: opts.Log, loc: opts.Location, catalog: opts.Catalogue, token: opts.ReportToken}
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
		return fail(fmt.Errorf("seal device secrets in %s: %w", name, err))
	} else if n > 0 {
		h.log.Info("sealed device secrets kept in plain text", "devices", n, "key", keyFile)
	}
	h.metrics = newHubMetrics()
	h.bodies = newBodyBudget(opts.BodyBudget, opts.BodyBudgetPerAddress)
	h.rowBudget = opts.RowBudget.WithDefaults()
	h.load = newLoadShedder(opts.MaxPushesInFlight, opts.QueueWait)
	h.decoy = make([]byte, 32)
	rand.Read(h.decoy)
	h.fleet = opts.OpenFleet || opts.ReportToken != ""
	h.stale = cmp.Or(opts.StaleAfter, DefaultStaleAfter)
	if opts.Releases != "" {
		h.SetReleases(opts.Releases)
	}
	h.steering = newConfigSteer()
	h.totals = totals.New(st, h.catalog, h.log, h.now)
	h.web = web.New(h, web.Options{Now: h.now, Location: h.loc, Log: h.log, ShowFleet: h.fleet, StaleAfter: h.stale})
	if err := st.Start(ctx, store.Config{Now: h.now, Log: h.log, RowBudget: h.rowBudget, Catalogue: h.catalog,
		Commits: h.metrics.commits, Retries: h.metrics.retries, Waited: h.load.waited, AfterStore: h.recordRollout}); err != nil {
		return fail(fmt.Errorf("hub database %s: %w", name, err))
	}
	return h, nil
}

// Close stops the writer and closes the database.
func (h *Hub) Close() error {
	return h.store.Close()
}

// ErrAlreadyEnrolled means the device has a live secret; revoke it first to re-enroll.
var ErrAlreadyEnrolled = errors.New("device already enrolled")

// Enroll creates a device with a fresh secret and returns the secret. Site details that
// are non-empty update the site's record. A revoked device may be enrolled again; it
// gets a new secret.
func (h *Hub) Enroll(ctx context.Context, site Site, device string) (string, error) {
	return h.enroll(ctx, site, device, KindAgent)
}

// EnrollUpstream enrolls a provincial hub at this (national) hub: site is the province.
// Its rows may name the province's sites and communes (dims site, commune), which an
// agent's may not; the province itself still comes from the enrollment.
func (h *Hub) EnrollUpstream(ctx context.Context, province Site, device string) (string, error) {
	return h.enroll(ctx, province, device, KindHub)
}

func (h *Hub) enroll(ctx context.Context, site Site, device, kind string) (string, error) {
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
	_, err = tx.ExecContext(ctx, `INSERT INTO sites(site, name, province, commune) VALUES(?, ?, ?, ?)
		ON CONFLICT(site) DO UPDATE SET
			name = CASE WHEN excluded.name != '' THEN excluded.name ELSE sites.name END,
			province = CASE WHEN excluded.province != '' THEN excluded.province ELSE sites.province END,
			commune = CASE WHEN excluded.commune != '' THEN excluded.commune ELSE sites.commune END`,
		site.Code, site.Name, site.Province, site.Commune)
	if err != nil {
		return "", fmt.Errorf("enroll %s: save site: %w", device, err)
	}
	// Only a new or revoked device takes the secret, in the one statement: two hubs
	// enrolling the same device at once cannot both succeed.
	res, err := tx.ExecContext(ctx, `INSERT INTO devices(device, site, secret, enrolled_at, kind) VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(device) DO UPDATE SET site = excluded.site, secret = excluded.secret,
			enrolled_at = excluded.enrolled_at, revoked_at = NULL, kind = excluded.kind
		WHERE devices.revoked_at IS NOT NULL`,
		device, site.Code, sealed, h.now().UTC().Format(time.RFC3339), kind)
	if err != nil {
		return "", fmt.Errorf("enroll %s: save device: %w", device, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", fmt.Errorf("enroll %s: %w (revoke it first to issue a new secret)", device, ErrAlreadyEnrolled)
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
	kind    string
	secret  []byte
	revoked bool
	unknown bool // not enrolled: secret is a random key no signature matches
}

func (h *Hub) lookupDevice(ctx context.Context, device string) (deviceRecord, error) {
	rec, _, err := h.lookupPush(ctx, device, "")
	return rec, err
}

// lookupPush reads a device's record and whether nonce was used already (one query,
// shared with the pushes that ask at the same moment: store.LookupPush).
func (h *Hub) lookupPush(ctx context.Context, device, nonce string) (rec deviceRecord, used bool, err error) {
	dev, used, err := h.store.LookupPush(ctx, device, nonce)
	if errors.Is(err, store.ErrNoDevice) {
		return rec, false, ErrUnknownDevice
	}
	if err != nil {
		return rec, false, fmt.Errorf("look up device %s: %w", device, err)
	}
	rec.site, rec.kind, rec.revoked = dev.Site, dev.Kind, dev.Revoked
	secret, err := h.box.open(device, dev.Secret)
	if err != nil {
		return rec, false, fmt.Errorf("device %s: stored secret: %w", device, err)
	}
	rec.secret, err = wire.ParseSecret(secret)
	if err != nil {
		return rec, false, fmt.Errorf("device %s: stored secret: %w", device, err)
	}
	return rec, used, nil
}

func (h *Hub) today() time.Time { return wire.DayOf(h.now(), h.loc) }
