package hub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua-agent/config"
	"motcua-agent/sync/wire"
)

// Configuration from the hub (PROTOCOL.md, "Steering"). The province publishes layers
// of the site file for the whole province, a commune or a site; a device's
// configuration is them composed in that order (config.ComposeLayers: the most specific
// wins where they meet). A push whose heartbeat says its agent runs another version,
// and has not refused this one, is answered with an offer (version and digest); the
// agent fetches the bytes from ConfigPath, signed like a push. Layers may carry tokens:
// they are sealed in the database like the device secrets and never logged.

// ConfigTarget is whom a published configuration is for: one of Site, Commune, or All.
type ConfigTarget struct {
	Site    string
	Commune string // the commune as the sites were enrolled with it (enroll --commune)
	All     bool
}

func (t ConfigTarget) key() (string, error) {
	n := 0
	for _, set := range []bool{t.Site != "", t.Commune != "", t.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "", errors.New("give exactly one of a site, a commune or the whole province")
	}
	switch {
	case t.Site != "":
		if !wire.ValidName(t.Site) {
			return "", fmt.Errorf("site %q is not a site code", t.Site)
		}
		return "site:" + t.Site, nil
	case t.Commune != "":
		if len(t.Commune) > 200 || strings.ContainsAny(t.Commune, "\x00\n\r") {
			return "", fmt.Errorf("commune %.40q is not a commune name", t.Commune)
		}
		return "commune:" + t.Commune, nil
	}
	return "all", nil
}

// scope is the target's word in a composed version: all, commune or site.
func scope(target string) string {
	s, _, _ := strings.Cut(target, ":")
	return s
}

var configVersionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// DefaultConfigVersion is the version a publication gets when none is given: the hub's
// UTC time, which sorts after every earlier one.
func DefaultConfigVersion(now time.Time) string {
	return now.UTC().Format("20060102.150405")
}

// versionLess orders versions as people read them: runs of digits by their value, the
// rest by bytes ("9" < "10", "1.9" < "1.10", "2026…" after "3").
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// PublishedConfig is one published configuration as `config list` shows it.
type PublishedConfig struct {
	Target      string    `json:"target"` // all, commune:NAME or site:CODE
	Version     string    `json:"version"`
	SHA256      string    `json:"sha256"`
	Sections    []string  `json:"sections"`
	PublishedAt time.Time `json:"published_at"`
}

// ErrConfigVersion means a publication's version does not move forward.
var ErrConfigVersion = errors.New("version does not move forward")

// PublishConfig stores a configuration layer for a target, sealed. version must sort
// after the target's current one (DefaultConfigVersion when empty); the layer must
// pass config.CheckLayer.
func (h *Hub) PublishConfig(ctx context.Context, t ConfigTarget, version string, layer []byte) (PublishedConfig, error) {
	target, err := t.key()
	if err != nil {
		return PublishedConfig{}, err
	}
	if version == "" {
		version = DefaultConfigVersion(h.now())
	}
	if !configVersionRe.MatchString(version) {
		return PublishedConfig{}, fmt.Errorf("version %.50q: use 1 to 40 letters, digits, '.', '_' or '-'", version)
	}
	sections, err := config.CheckLayer(layer)
	if err != nil {
		return PublishedConfig{}, fmt.Errorf("configuration: %w", err)
	}
	sealed, err := h.box.seal("config:"+target, string(layer))
	if err != nil {
		return PublishedConfig{}, err
	}
	p := PublishedConfig{Target: target, Version: version, SHA256: config.Digest(layer), Sections: sections,
		PublishedAt: h.now().UTC().Truncate(time.Second)}
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("publish: begin: %w", err)
	}
	defer tx.Rollback()
	var have string
	err = tx.QueryRowContext(ctx, `SELECT version FROM configs WHERE target = ?`, target).Scan(&have)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("publish: read %s: %w", target, err)
	}
	if err == nil && !versionLess(have, version) {
		return p, fmt.Errorf("publish %s version %s: %w: %s already has %s (give a later --version, or none for the time)",
			target, version, ErrConfigVersion, target, have)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO configs(target, version, sha256, sections, body, published_at) VALUES(?, ?, ?, ?, ?, ?)
		ON CONFLICT(target) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
			sections = excluded.sections, body = excluded.body, published_at = excluded.published_at`,
		target, version, p.SHA256, strings.Join(sections, ","), sealed, p.PublishedAt.Format(time.RFC3339)); err != nil {
		return p, fmt.Errorf("publish %s: %w", target, err)
	}
	if err := tx.Commit(); err != nil {
		return p, fmt.Errorf("publish %s: commit: %w", target, err)
	}
	h.steer().forget()
	return p, nil
}

// PublishedConfigs lists what is published, province-wide first, then communes, then sites.
func (h *Hub) PublishedConfigs(ctx context.Context) ([]PublishedConfig, error) {
	rows, err := h.rdb.QueryContext(ctx, `SELECT target, version, sha256, sections, published_at FROM configs`)
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	defer rows.Close()
	out := []PublishedConfig{}
	for rows.Next() {
		var p PublishedConfig
		var sections, at string
		if err := rows.Scan(&p.Target, &p.Version, &p.SHA256, &sections, &at); err != nil {
			return nil, fmt.Errorf("list configs: %w", err)
		}
		p.Sections = strings.Split(sections, ",")
		p.PublishedAt, _ = time.Parse(time.RFC3339, at)
		out = append(out, p)
	}
	rank := map[string]int{"all": 0, "commune": 1, "site": 2}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank[scope(out[i].Target)], rank[scope(out[j].Target)]; ri != rj {
			return ri < rj
		}
		return out[i].Target < out[j].Target
	})
	return out, rows.Err()
}

// DeviceConfig is a device's composed configuration.
type DeviceConfig struct {
	Version string // "all@V+commune@V+site@V", the parts that apply
	SHA256  string
	Body    []byte
}

// configSteer holds what the pushes need often: each site's composed configuration
// for a short while (a publication on another hub of the database reaches the agents
// within configCacheTTL), and each device's last reported state (written only when it
// changes).
type configSteer struct {
	mu     sync.Mutex
	bySite map[string]cachedConfig
	states map[string]savedState
	// fetches is when each device last fetched, and by address: the endpoint's bounds.
	fetches map[string]time.Time
}

// savedState is a device's state as this hub last wrote it; written again when it
// changes, or after stateRewrite (another hub of the database may have written since).
type savedState struct {
	st wire.ConfigState
	at time.Time
}

const stateRewrite = 10 * time.Minute

type cachedConfig struct {
	cfg *DeviceConfig // nil: nothing published for the site
	at  time.Time
}

const (
	configCacheTTL = 15 * time.Second
	// configFetchEvery is how often one device may fetch, addressFetchEvery one
	// address (a commune's PCs behind one NAT address share it).
	configFetchEvery  = 5 * time.Second
	addressFetchEvery = time.Second
)

func newConfigSteer() *configSteer {
	return &configSteer{bySite: map[string]cachedConfig{}, states: map[string]savedState{}, fetches: map[string]time.Time{}}
}

func (h *Hub) steer() *configSteer { return h.steering }

func (s *configSteer) forget() {
	s.mu.Lock()
	clear(s.bySite)
	s.mu.Unlock()
}

// ConfigFor composes the configuration that applies to a site's devices (nil when
// nothing is published for it).
func (h *Hub) ConfigFor(ctx context.Context, site string) (*DeviceConfig, error) {
	s := h.steer()
	now := h.now()
	s.mu.Lock()
	c, ok := s.bySite[site]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < configCacheTTL && now.Sub(c.at) >= 0 {
		return c.cfg, nil
	}
	rows, err := h.rdb.QueryContext(ctx, `SELECT target, version, body FROM configs
		WHERE target = 'all' OR target = 'site:' || ?
			OR target = (SELECT 'commune:' || commune FROM sites WHERE site = ? AND commune != '')`, site, site)
	if err != nil {
		return nil, fmt.Errorf("configuration of site %s: %w", site, err)
	}
	defer rows.Close()
	type part struct{ target, version, body string }
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.target, &p.version, &p.body); err != nil {
			return nil, fmt.Errorf("configuration of site %s: %w", site, err)
		}
		if p.body, err = h.box.open("config:"+p.target, p.body); err != nil {
			return nil, fmt.Errorf("configuration %s: %w", p.target, err)
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("configuration of site %s: %w", site, err)
	}
	var dc *DeviceConfig
	if len(parts) > 0 {
		rank := map[string]int{"all": 0, "commune": 1, "site": 2}
		sort.Slice(parts, func(i, j int) bool { return rank[scope(parts[i].target)] < rank[scope(parts[j].target)] })
		var versions []string
		var layers [][]byte
		for _, p := range parts {
			versions = append(versions, scope(p.target)+"@"+p.version)
			layers = append(layers, []byte(p.body))
		}
		body, err := config.ComposeLayers(layers...)
		if err != nil {
			return nil, fmt.Errorf("compose the configuration of site %s: %w", site, err)
		}
		dc = &DeviceConfig{Version: strings.Join(versions, "+"), SHA256: config.Digest(body), Body: body}
	}
	s.mu.Lock()
	s.bySite[site] = cachedConfig{cfg: dc, at: now}
	s.mu.Unlock()
	return dc, nil
}

// configOffer records the device's reported configuration state and says what to
// offer it: nothing when it runs the site's configuration or refused this very one.
// A failure here never fails the push: the offer comes with a later one.
func (h *Hub) configOffer(ctx context.Context, device, site string, st *wire.ConfigState) *wire.ConfigOffer {
	if err := h.saveConfigState(ctx, device, *st); err != nil {
		h.log.Warn("push: save config state", "device", device, "err", err)
	}
	dc, err := h.ConfigFor(ctx, site)
	if err != nil {
		h.log.Warn("push: configuration", "site", site, "err", err)
		return nil
	}
	if dc == nil || dc.Version == st.Version || dc.Version == st.Refused {
		return nil
	}
	return &wire.ConfigOffer{Version: dc.Version, SHA256: dc.SHA256}
}

func (h *Hub) saveConfigState(ctx context.Context, device string, st wire.ConfigState) error {
	s := h.steer()
	now := h.now()
	s.mu.Lock()
	saved, ok := s.states[device]
	s.mu.Unlock()
	if ok && saved.st == st && now.Sub(saved.at) < stateRewrite && now.Sub(saved.at) >= 0 {
		return nil
	}
	if _, err := h.db.ExecContext(ctx, `INSERT INTO config_states(device, version, source, refused, reason, reported_at)
		VALUES(?, ?, ?, ?, ?, ?)
		ON CONFLICT(device) DO UPDATE SET version = excluded.version, source = excluded.source,
			refused = excluded.refused, reason = excluded.reason, reported_at = excluded.reported_at`,
		device, st.Version, st.Source, st.Refused, st.Reason, now.UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	s.mu.Lock()
	s.states[device] = savedState{st: st, at: now}
	s.mu.Unlock()
	return nil
}

// addConfigStates fills the fleet's configuration column.
func (h *Hub) addConfigStates(ctx context.Context, agents []FleetAgent) error {
	rows, err := h.rdb.QueryContext(ctx, `SELECT device, version, source, refused, reason FROM config_states`)
	if err != nil {
		return fmt.Errorf("fleet config states: %w", err)
	}
	defer rows.Close()
	states := map[string]*FleetConfig{}
	for rows.Next() {
		var device string
		var c FleetConfig
		if err := rows.Scan(&device, &c.Version, &c.Source, &c.Refused, &c.Reason); err != nil {
			return fmt.Errorf("fleet config states: %w", err)
		}
		states[device] = &c
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// What each site should run, by name only: the published versions (no layer is
	// opened or composed for the page).
	published := map[string]string{}
	vrows, err := h.rdb.QueryContext(ctx, `SELECT target, version FROM configs`)
	if err != nil {
		return fmt.Errorf("fleet configs: %w", err)
	}
	defer vrows.Close()
	for vrows.Next() {
		var target, version string
		if err := vrows.Scan(&target, &version); err != nil {
			return fmt.Errorf("fleet configs: %w", err)
		}
		published[target] = version
	}
	if err := vrows.Err(); err != nil {
		return err
	}
	for i := range agents {
		a := &agents[i]
		var parts []string
		for _, target := range []string{"all", "commune:" + a.Commune, "site:" + a.Site} {
			if v, ok := published[target]; ok && target != "commune:" {
				parts = append(parts, scope(target)+"@"+v)
			}
		}
		c := states[a.Device]
		if c == nil && len(parts) == 0 {
			continue
		}
		if c == nil {
			c = &FleetConfig{}
		}
		c.Published = strings.Join(parts, "+")
		a.Config = c
	}
	return nil
}

// serveConfig answers an agent's fetch of its configuration: authenticated like a
// push (an unknown device and a wrong signature get the same answer), once per
// configFetchEvery per device and per address, only its own site's configuration.
func (h *Hub) serveConfig(w http.ResponseWriter, r *http.Request) {
	dc, perr := h.fetchConfig(r)
	code := "ok"
	if perr != nil {
		code = perr.code
	}
	h.metrics.reg.Counter("motcua_hub_config_fetches_total", "Configuration fetches answered, by result code.", "code="+code).Inc()
	if perr != nil {
		if perr.status == http.StatusServiceUnavailable || perr.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(configFetchEvery/time.Second)))
		}
		h.writeJSON(w, perr.status, wire.ErrorResponse{Code: perr.code, Message: perr.msg, HubTime: h.now().UTC()})
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(wire.HeaderConfigVersion, dc.Version)
	w.Header().Set(wire.HeaderConfigSHA256, dc.SHA256)
	w.Header().Set("Content-Length", strconv.Itoa(len(dc.Body)))
	w.Write(dc.Body)
}

func (h *Hub) fetchConfig(r *http.Request) (*DeviceConfig, *pushError) {
	ctx := r.Context()
	auth, err := wire.ParseSignedHeaders(r.Header)
	if err != nil {
		return nil, refuse(http.StatusUnauthorized, wire.CodeMissingAuth, "%v", err)
	}
	now := h.now()
	if skew := auth.Time.Sub(now); skew > wire.MaxClockSkew || skew < -wire.MaxClockSkew {
		return nil, refuse(http.StatusUnauthorized, wire.CodeClockSkew, "request time is %s away from hub time", skew.Round(time.Second))
	}
	if r.ContentLength != 0 {
		return nil, refuse(http.StatusBadRequest, wire.CodeMalformed, "a configuration fetch has no body")
	}
	if !h.steer().allowFetch("addr:"+clientAddress(r), now, addressFetchEvery) {
		return nil, refuse(http.StatusTooManyRequests, wire.CodeBusy, "too many configuration fetches from this address; retry later")
	}
	if !h.load.admit() {
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub is at capacity; retry later")
	}
	defer h.load.leave()
	dev, perr := h.authenticate(r, auth, nil)
	if perr != nil {
		return nil, perr
	}
	if !h.steer().allowFetch("device:"+auth.Device, now, configFetchEvery) {
		return nil, refuse(http.StatusTooManyRequests, wire.CodeBusy, "this device fetched its configuration moments ago; retry later")
	}
	res, err := h.db.ExecContext(ctx, `INSERT INTO nonces(device, nonce, seen_at) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`,
		auth.Device, auth.Nonce, now.Unix())
	if err != nil {
		h.log.Warn("config fetch: record nonce", "err", err)
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub's database is busy; retry later")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, refuse(http.StatusConflict, wire.CodeReplay, "nonce already used: request replayed")
	}
	var dc *DeviceConfig
	if dev.kind == KindAgent {
		if dc, err = h.ConfigFor(ctx, dev.site); err != nil {
			h.log.Error("config fetch", "device", auth.Device, "err", err)
			return nil, refuse(http.StatusServiceUnavailable, wire.CodeInternal, "could not read the configuration; retry later")
		}
	}
	if dc == nil {
		return nil, refuse(http.StatusNotFound, wire.CodeNoConfig, "no configuration is published for this device's site")
	}
	h.log.Info("configuration fetched", "device", auth.Device, "version", dc.Version) // never its bytes: they may hold tokens
	return dc, nil
}

// allowFetch admits one fetch per period per key (a device, an address).
func (s *configSteer) allowFetch(key string, now time.Time, every time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.fetches[key]; ok && now.Sub(last) < every && now.Sub(last) >= 0 {
		return false
	}
	if len(s.fetches) > 100_000 {
		for k, t := range s.fetches {
			if now.Sub(t) >= configFetchEvery {
				delete(s.fetches, k)
			}
		}
	}
	s.fetches[key] = now
	return true
}
