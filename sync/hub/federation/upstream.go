// Package federation is the national tier's provincial side: a provincial hub's
// uploader of its totals to the national hub (the outbox refreshed from the province's
// rows, the lease that lets one hub process of a database upload, the status the page
// shows). It reads and writes the database through sync/hub/store (whose federation.go
// holds the outbox's tables and the marks the writer leaves) and pushes with the
// agents' own client (sync/upload); it knows nothing of the web face or the totals.
package federation

// The national tier, provincial side: a provincial hub pushes its totals to a national
// hub exactly as an agent pushes its counters. The national hub enrolls the provincial
// hub like a device (its site is the province), and the provincial hub runs the agent's
// own upload client (signing, batching, gzip, backoff, acknowledged watermark) over an
// outbox kept in its database. An offline national hub therefore costs nothing but a
// backlog, and the catch-up is the agent's catch-up.
//
// The outbox, upstream_rows, holds the province's totals per day, metric and dimensions,
// where the dimensions are the agents' own plus `site` and `commune`: every device and
// every epoch of a row summed as the province's own reports sum them (device_counters
// folds the epochs, a peak taking the largest; Totals then sums the devices). A row gets
// a new revision from a hub-wide sequence each time its value changes; the national hub
// keeps the highest revision, so a resent push changes nothing.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"motcua-agent/internal/metrics"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// UpstreamConfig is where and as whom a provincial hub pushes its totals: the lines
// `motcua-hub enroll` printed at the national hub.
type UpstreamConfig struct {
	URL    string // the national hub, http(s)://host[:port]
	Site   string // the province's code at the national hub
	Device string // this provincial hub's device id there (hub-<code>)
	Secret []byte
	CAFile string // trusted CAs for the national hub's TLS; system roots when empty

	Interval   time.Duration // between pushes when all is sent; 1 minute by default
	MinBackoff time.Duration // first wait after a failure; 2 seconds by default
	MaxBackoff time.Duration // cap of the wait; 1 minute by default, never above half the lease
	BatchSize  int           // rows per push; the protocol's most by default
	// Clock and Transport are for tests: the upload client's clock and HTTP transport.
	Clock     upload.Clock
	Transport http.RoundTripper
	// Holder names this process in the lease; random by default.
	Holder string
}

// upstreamFile is the YAML `motcua-hub enroll` prints (sync/cmd/motcua-hub cmdEnroll), plus an optional
// CA file.
type upstreamFile struct {
	Site struct {
		ID       string `yaml:"id"`
		DeviceID string `yaml:"device_id"`
	} `yaml:"site"`
	Sync struct {
		URL    string `yaml:"url"`
		Secret string `yaml:"secret"`
		CAFile string `yaml:"ca_file"`
	} `yaml:"sync"`
}

// LoadUpstreamFile reads the lines the national hub's `motcua-hub enroll` printed, saved as a
// file: site.id, site.device_id, sync.url, sync.secret (and optionally sync.ca_file).
func LoadUpstreamFile(path string) (UpstreamConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return UpstreamConfig{}, fmt.Errorf("read upstream file: %w", err)
	}
	// It holds the secret that signs the province's totals, like the hub's key file.
	if st, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return UpstreamConfig{}, fmt.Errorf("upstream file %s is readable by others (mode %v): it holds the secret; chmod 600 it", path, st.Mode().Perm())
	}
	var f upstreamFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return UpstreamConfig{}, fmt.Errorf("upstream file %s: %w (it should hold the lines `motcua-hub enroll` printed at the national hub)", path, err)
	}
	var problems []string
	if !wire.ValidName(f.Site.ID) {
		problems = append(problems, "site.id (the province's code at the national hub) is missing or not a short name")
	}
	if !wire.ValidName(f.Site.DeviceID) {
		problems = append(problems, "site.device_id (this hub's device id at the national hub) is missing or not a short name")
	}
	if f.Sync.URL == "" {
		problems = append(problems, "sync.url (the national hub's address) is missing")
	}
	secret, err := wire.ParseSecret(f.Sync.Secret)
	if err != nil {
		problems = append(problems, "sync.secret: "+err.Error())
	}
	if len(problems) > 0 {
		return UpstreamConfig{}, fmt.Errorf("upstream file %s: %s", path, strings.Join(problems, "; "))
	}
	return UpstreamConfig{URL: f.Sync.URL, Site: f.Site.ID, Device: f.Site.DeviceID, Secret: secret, CAFile: f.Sync.CAFile}, nil
}

// Hub is what the uploader needs of the provincial hub that runs it.
type Hub struct {
	Store   *store.Store
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *metrics.Registry // the uploader's gauges go there
	// Names are the names pushed with the totals (the province's sites, its services,
	// counters …), read when a push goes.
	Names func() []wire.Name
	// Silent is how long without contact an agent counts as silent in the status the
	// uploader sends up (the fleet view's mark).
	Silent time.Duration
}

// hub is Hub as the uploader reads it.
type hub struct {
	db, rdb *store.DB
	now     func() time.Time
	log     *slog.Logger
	reg     *metrics.Registry
	names   func() []wire.Name
	silent  time.Duration
}

func (h Hub) hub() *hub {
	return &hub{db: h.Store.Writes(), rdb: h.Store.Reads(), now: h.Now, log: h.Log, reg: h.Metrics, names: h.Names, silent: h.Silent}
}

// Upstream pushes a provincial hub's totals to the national hub.
type Upstream struct {
	h      *hub
	cfg    UpstreamConfig
	src    *upstreamSource
	client *upload.Client
	clock  upload.Clock
	log    *slog.Logger

	cancel  context.CancelFunc
	ended   chan struct{}
	trigger chan struct{}

	mu       sync.Mutex // one refresh-and-push at a time in this process
	leader   bool
	failures int

	backlog, lastSuccess, leaderGauge *metrics.Gauge
}

// LeaseTTL is how long a holder keeps the uploader without renewing: a crashed process
// hands over after this long.
const LeaseTTL = 2 * time.Minute

// Start checks cfg, prepares the outbox (its epoch, and on first use every day
// already held) and starts pushing in the background until Close.
func Start(hb Hub, cfg UpstreamConfig) (*Upstream, error) {
	u, err := New(hb, cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go u.run(ctx)
	return u, nil
}

// StartFrom starts pushing to the national hub named in the file `motcua-hub enroll`
// printed there (LoadUpstreamFile).
func StartFrom(hb Hub, path string) (*Upstream, error) {
	cfg, err := LoadUpstreamFile(path)
	if err != nil {
		return nil, err
	}
	u, err := Start(hb, cfg)
	if err != nil {
		return nil, err
	}
	hb.Log.Info("pushing totals to the national hub", "url", cfg.URL, "as", cfg.Device, "province", cfg.Site)
	return u, nil
}

// New builds the uploader without starting its loop (tests drive PushNow).
func New(hb Hub, cfg UpstreamConfig) (*Upstream, error) {
	h := hb.hub()
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 2 * time.Second
	}
	// The holder renews its lease on every attempt, so its longest wait stays under the
	// lease's life: a national hub that is down must not hand the uploader back and
	// forth between the province's processes. There are 34 provinces, not thousands of
	// agents, so a minute between retries is no load on the national hub.
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	cfg.MaxBackoff = max(min(cfg.MaxBackoff, LeaseTTL/2), cfg.MinBackoff)
	if cfg.BatchSize <= 0 {
		// A provincial hub is a server on a good link: a day of a province (about
		// 2,000 rows) goes in one push and one commit at the national hub.
		cfg.BatchSize = wire.MaxSnapshotsPerPush
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomID(4))
	}
	clock := cfg.Clock
	if clock == nil {
		clock = hubClock{h}
	}
	src := &upstreamSource{h: h}
	ctx := context.Background()
	epoch, err := src.ensureEpoch(ctx)
	if err != nil {
		return nil, err
	}
	src.epoch = epoch
	tls, err := upload.LoadCA(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	u := &Upstream{h: h, cfg: cfg, src: src, clock: clock, log: h.log.With("upstream", cfg.URL),
		ended: make(chan struct{}), trigger: make(chan struct{}, 1)}
	ccfg := upload.ClientConfig{
		HubURL: cfg.URL, Site: cfg.Site, Device: cfg.Device, Secret: cfg.Secret, TLS: tls,
		BatchSize: cfg.BatchSize, Version: "motcua-hub", Clock: clock, Log: u.log,
		Devices:   u.agentsBeat,
		Names:     h.names,
		OnAttempt: u.noteAttempt,
		FromHub:   true,
	}
	ccfg.Transport = cfg.Transport
	u.client, err = upload.NewClient(ccfg, src)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	r := h.reg
	u.backlog = r.Gauge("motcua_hub_upstream_backlog", "Outbox rows changed since the national hub's last acknowledgement.")
	u.lastSuccess = r.Gauge("motcua_hub_upstream_last_success_seconds", "Unix time of the last push the national hub acknowledged.")
	u.leaderGauge = r.Gauge("motcua_hub_upstream_leader", "1 while this process holds the uploader's lease.")
	return u, nil
}

// hubClock is the hub's clock as the upload client's.
type hubClock struct{ h *hub }

func (c hubClock) Now() time.Time                         { return c.h.now() }
func (c hubClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Close stops the background pushes and gives up the lease, so another hub process on
// the same database takes over at once.
func (u *Upstream) Close() {
	if u.cancel != nil {
		u.cancel()
		<-u.ended
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.leader {
		if _, err := u.h.db.Exec(`DELETE FROM upstream_lease WHERE name = 'uploader' AND holder = ?`, u.cfg.Holder); err != nil {
			u.log.Warn("upstream: give up the lease", "err", err)
		}
		u.leader = false
	}
}

// Trigger asks the loop to refresh and push at once.
func (u *Upstream) Trigger() {
	select {
	case u.trigger <- struct{}{}:
	default:
	}
}

func (u *Upstream) run(ctx context.Context) {
	defer close(u.ended)
	for {
		wait := u.cfg.Interval
		if err := u.PushNow(ctx); err != nil && !errors.Is(err, ErrNotLeader) {
			wait = u.backoff()
		}
		select {
		case <-ctx.Done():
			return
		case <-u.clock.After(wait):
		case <-u.trigger:
		}
	}
}

// backoff doubles from MinBackoff per consecutive failure up to MaxBackoff, with equal
// jitter taken from the clock's nanoseconds (no shared random source needed).
func (u *Upstream) backoff() time.Duration {
	u.mu.Lock()
	n := u.failures
	u.mu.Unlock()
	d := u.cfg.MinBackoff
	for i := 1; i < n && d < u.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, u.cfg.MaxBackoff)
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

var ErrNotLeader = errors.New("another hub process holds the uploader's lease")

// PushNow takes or renews the lease, brings the outbox up to date and pushes everything
// the national hub has not acknowledged. Without the lease it does nothing and returns
// ErrNotLeader.
func (u *Upstream) PushNow(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	leader, err := u.takeLease(ctx)
	if err != nil {
		u.failures++
		u.log.Warn("upstream: lease", "err", err)
		return err
	}
	if leader != u.leader {
		u.log.Info("upstream: uploader lease", "held", leader, "holder", u.cfg.Holder)
	}
	u.leader = leader
	u.leaderGauge.Set(b2f(leader))
	if !leader {
		return ErrNotLeader
	}
	if _, err := u.src.refresh(ctx); err != nil {
		u.failures++
		u.log.Warn("upstream: refresh the outbox", "err", err)
		return err
	}
	if err := u.client.PushNow(ctx); err != nil {
		u.failures++ // the client logged it (first failure and every tenth)
		return err
	}
	u.failures = 0
	return nil
}

// takeLease claims the uploader when it is free, expired or already ours, and renews it.
func (u *Upstream) takeLease(ctx context.Context) (bool, error) {
	now := u.h.now().UnixMilli()
	_, err := u.h.db.ExecContext(ctx, `INSERT INTO upstream_lease(name, holder, expires) VALUES('uploader', ?, ?)
		ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE upstream_lease.holder = excluded.holder OR upstream_lease.expires < ?`,
		u.cfg.Holder, now+LeaseTTL.Milliseconds(), now)
	if err != nil {
		return false, fmt.Errorf("take the uploader lease: %w", err)
	}
	var holder string
	if err := u.h.db.QueryRowContext(ctx, `SELECT holder FROM upstream_lease WHERE name = 'uploader'`).Scan(&holder); err != nil {
		return false, fmt.Errorf("read the uploader lease: %w", err)
	}
	return holder == u.cfg.Holder, nil
}

// agentsBeat is the heartbeat's device list: the province's agents in one line, so the
// national fleet shows a province whose counters are going quiet.
func (u *Upstream) agentsBeat() []wire.DeviceState {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	silentBefore := u.h.now().Add(-u.h.silent).UTC().Format(time.RFC3339Nano)
	var enrolled, silent int64
	err := u.h.rdb.QueryRowContext(ctx, `SELECT count(*),
			coalesce(sum(CASE WHEN f.last_contact IS NULL OR f.last_contact < ? THEN 1 ELSE 0 END), 0)
		FROM devices d LEFT JOIN fleet f ON f.device = d.device WHERE d.revoked_at IS NULL`, silentBefore).Scan(&enrolled, &silent)
	if err != nil {
		return []wire.DeviceState{{Name: "agents", Kind: "fleet", State: "degraded", Detail: "could not count the agents"}}
	}
	state := "ok"
	if silent > 0 {
		state = "degraded"
	}
	return []wire.DeviceState{{Name: "agents", Kind: "fleet", State: state,
		Detail: fmt.Sprintf("%d agents enrolled, %d silent for over %s", enrolled, silent, u.h.silent)}}
}

func (u *Upstream) noteAttempt(st upload.Status) {
	u.backlog.Set(float64(st.Backlog))
	if !st.LastSuccess.IsZero() {
		u.lastSuccess.Set(float64(st.LastSuccess.Unix()))
	}
}

// Status is the upload client's state as this process sees it.
func (u *Upstream) Status() upload.Status { return u.client.Status() }

// Status is the last state the uploader saved in the database, whichever hub
// process holds it, with the backlog counted now; ok is false when this hub never
// pushed upstream. For the page and `hub` status lines.
func Status(ctx context.Context, hb Hub) (st upload.Status, ok bool, err error) {
	src := &upstreamSource{h: hb.hub()}
	if _, ok, err = src.Meta(ctx, upload.MetaStatus); err != nil || !ok {
		return st, ok, err
	}
	st, err = upload.ReadStatus(ctx, src)
	return st, err == nil, err
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// upstreamSource is upload.Source over the outbox.
type upstreamSource struct {
	h     *hub
	epoch string
}

// ensureEpoch returns the outbox's epoch, creating it on first use. The epoch names
// this provincial database at the national hub: if the database is ever replaced, the
// new one's totals are a new epoch there and are not mistaken for revisions of the old.
// Creating it also marks every day already held, so a hub that ran without --upstream
// sends its whole history on its first push.
func (s *upstreamSource) ensureEpoch(ctx context.Context) (string, error) {
	tx, err := s.h.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("upstream epoch: begin: %w", err)
	}
	defer tx.Rollback()
	var epoch string
	err = tx.QueryRowContext(ctx, `SELECT value FROM upstream_meta WHERE key = 'epoch'`).Scan(&epoch)
	if err == nil {
		return epoch, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("upstream epoch: %w", err)
	}
	epoch = "p" + randomID(8)
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO upstream_meta(key, value) VALUES('epoch', ?)`, []any{epoch}},
		{`INSERT INTO upstream_seq(name, last) VALUES('revision', 0) ON CONFLICT(name) DO NOTHING`, nil},
		// "WHERE 1 = 1": SQLite would read ON CONFLICT as a join's ON without a WHERE.
		{`INSERT INTO upstream_dirty(day) SELECT DISTINCT day FROM counters WHERE 1 = 1 ON CONFLICT(day) DO NOTHING`, nil},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return "", fmt.Errorf("upstream epoch: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("upstream epoch: commit: %w", err)
	}
	return epoch, nil
}

// refreshDays is how many dirty days one refresh transaction recomputes, so a first
// push of a year of history does not hold the writer for long.
const refreshDays = 16

// refresh recomputes the dirty days' totals and gives the rows whose value changed a
// new revision. It returns how many rows changed.
// Send pushes what the outbox holds that the national hub has not acknowledged,
// without refreshing it or taking the lease (the national-day benchmark).
func (u *Upstream) Send(ctx context.Context) error { return u.client.PushNow(ctx) }

// Refresh brings the outbox up to date with the province's rows; it returns how many
// rows changed (the national-day benchmark times it apart from the push).
func (u *Upstream) Refresh(ctx context.Context) (int, error) { return u.src.refresh(ctx) }

func (s *upstreamSource) refresh(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.refreshSome(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (s *upstreamSource) refreshSome(ctx context.Context) (changed int, more bool, err error) {
	tx, err := s.h.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	// Lock the sequence first: on PostgreSQL a second refresher (a process whose lease
	// expired while it worked) waits here, so revisions are handed out and committed in
	// order. On SQLite the immediate transaction already serialises writers.
	if _, err := tx.ExecContext(ctx, `UPDATE upstream_seq SET last = last WHERE name = 'revision'`); err != nil {
		return 0, false, fmt.Errorf("lock the revision sequence: %w", err)
	}
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT last FROM upstream_seq WHERE name = 'revision'`).Scan(&rev); err != nil {
		return 0, false, fmt.Errorf("read the revision sequence: %w", err)
	}
	days, err := store.QueryStrings(ctx, tx, `SELECT day FROM upstream_dirty ORDER BY day LIMIT ?`, refreshDays+1)
	if err != nil {
		return 0, false, fmt.Errorf("read dirty days: %w", err)
	}
	if len(days) > refreshDays {
		days, more = days[:refreshDays], true
	}
	for _, day := range days {
		// Delete the mark before reading the day: an ingest that commits while we read
		// marks the day again, and the next refresh picks it up. Deleting after reading
		// could erase that new mark and lose the change. (An ingest still open that has
		// already marked the day holds the mark's row: the DELETE waits for its commit;
		// see markUpstreamDirty.)
		if _, err := tx.ExecContext(ctx, `DELETE FROM upstream_dirty WHERE day = ?`, day); err != nil {
			return 0, false, fmt.Errorf("take dirty day %s: %w", day, err)
		}
		n, leftOut, err := refreshDay(ctx, tx, day, &rev)
		if err != nil {
			return 0, false, fmt.Errorf("recompute day %s: %w", day, err)
		}
		if leftOut > 0 {
			s.h.log.Warn("upstream: rows the national hub would refuse left out (dims outside the vocabulary, kept from before the hub checked them)",
				"day", day, "rows", leftOut)
		}
		changed += n
	}
	if _, err := tx.ExecContext(ctx, `UPDATE upstream_seq SET last = ? WHERE name = 'revision'`, rev); err != nil {
		return 0, false, fmt.Errorf("save the revision sequence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("commit: %w", err)
	}
	return changed, more, nil
}

// refreshDay recomputes one day's totals per (metric, dims + site + commune) and writes
// the rows whose value differs from the outbox's, each with the next revision.
//
// Devices are summed as the province's own Totals sums them, peaks included (each
// device's epochs already folded by device_counters), so the national hub's total for a
// site, a commune or the province equals the provincial hub's own report. A `site` or
// `commune` already in the dims (a hub below this one) is kept, as groupExpr reads it.
func refreshDay(ctx context.Context, tx *store.Tx, day string, rev *int64) (changed, leftOut int, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT c.metric, c.dims, d.site, coalesce(s.commune, ''), sum(c.value)
		FROM device_counters c JOIN devices d ON d.device = c.device LEFT JOIN sites s ON s.site = d.site
		WHERE c.day = ? GROUP BY c.metric, c.dims, d.site, s.commune`, day)
	if err != nil {
		return 0, 0, err
	}
	type key struct{ metric, dims string }
	fresh := map[key]int64{}
	for rows.Next() {
		var metric, rawDims, site, commune string
		var value int64
		if err := rows.Scan(&metric, &rawDims, &site, &commune, &value); err != nil {
			rows.Close()
			return 0, 0, err
		}
		dims := map[string]string{}
		if err := json.Unmarshal([]byte(rawDims), &dims); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("dims %q of %s: %w", rawDims, metric, err)
		}
		if dims[store.DimSite] == "" {
			dims[store.DimSite] = site
		}
		if dims[store.DimCommune] == "" {
			commune = cutUTF8(commune, wire.MaxDimValueLen) // a long name must not make the row unsendable
			if commune != "" {
				dims[store.DimCommune] = commune
			} else {
				delete(dims, store.DimCommune)
			}
		}
		if err := wire.CheckRow(metric, dims, true); err != nil {
			// A row the national hub would refuse (kept from before the hub checked
			// dims) would hold back every other row of the province: left out.
			leftOut++
			continue
		}
		fresh[key{metric, wire.CanonicalDims(dims)}] += value
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	held := map[key]int64{}
	rows, err = tx.QueryContext(ctx, `SELECT metric, dims, value FROM upstream_rows WHERE day = ?`, day)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var k key
		var v int64
		if err := rows.Scan(&k.metric, &k.dims, &v); err != nil {
			rows.Close()
			return 0, 0, err
		}
		held[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	// A row held but no longer computed (it cannot happen while counters are never
	// deleted, but a restored hub database could) goes to zero rather than stay stale.
	for k := range held {
		if _, ok := fresh[k]; !ok {
			fresh[k] = 0
		}
	}
	// Sorted, so revisions follow a stable order and tests can read them.
	keys := make([]key, 0, len(fresh))
	for k, v := range fresh {
		if old, ok := held[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].metric != keys[j].metric {
			return keys[i].metric < keys[j].metric
		}
		return keys[i].dims < keys[j].dims
	})
	if len(keys) == 0 {
		return 0, leftOut, nil
	}
	upsert, err := tx.PrepareContext(ctx, `INSERT INTO upstream_rows(day, metric, dims, value, revision) VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(day, metric, dims) DO UPDATE SET value = excluded.value, revision = excluded.revision`)
	if err != nil {
		return 0, 0, err
	}
	defer upsert.Close()
	for _, k := range keys {
		*rev++
		if _, err := upsert.ExecContext(ctx, day, k.metric, k.dims, fresh[k], *rev); err != nil {
			return 0, 0, err
		}
	}
	return len(keys), leftOut, nil
}

// CountersChangedSince implements upload.Source.
func (s *upstreamSource) CountersChangedSince(ctx context.Context, after int64, limit int) ([]upload.Counter, error) {
	rows, err := s.h.rdb.QueryContext(ctx, `SELECT day, metric, dims, value, revision FROM upstream_rows
		WHERE revision > ? ORDER BY revision LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read the upstream outbox: %w", err)
	}
	defer rows.Close()
	var out []upload.Counter
	for rows.Next() {
		var c upload.Counter
		var dims string
		if err := rows.Scan(&c.Day, &c.Metric, &dims, &c.Value, &c.Revision); err != nil {
			return nil, fmt.Errorf("read the upstream outbox: %w", err)
		}
		if err := json.Unmarshal([]byte(dims), &c.Dims); err != nil {
			return nil, fmt.Errorf("upstream outbox row %s %s: dims %q: %w", c.Day, c.Metric, dims, err)
		}
		c.Epoch = s.epoch
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountersPending implements upload.PendingCounter.
func (s *upstreamSource) CountersPending(ctx context.Context, after int64) (int64, error) {
	var n int64
	err := s.h.rdb.QueryRowContext(ctx, `SELECT count(*) FROM upstream_rows WHERE revision > ?`, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the upstream backlog: %w", err)
	}
	return n, nil
}

// LastRevision implements upload.LastRevisioner.
func (s *upstreamSource) LastRevision(ctx context.Context) (int64, error) {
	var n int64
	err := s.h.rdb.QueryRowContext(ctx, `SELECT coalesce(max(last), 0) FROM upstream_seq WHERE name = 'revision'`).Scan(&n)
	return n, err
}

// Meta implements upload.Source.
func (s *upstreamSource) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.h.rdb.QueryRowContext(ctx, `SELECT value FROM upstream_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read upstream %s: %w", key, err)
	}
	return v, true, nil
}

// SetMeta implements upload.Source; the hub's database is synchronous=FULL, so the
// value is durable when this returns.
func (s *upstreamSource) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.h.db.ExecContext(ctx, `INSERT INTO upstream_meta(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("save upstream %s: %w", key, err)
	}
	return nil
}
