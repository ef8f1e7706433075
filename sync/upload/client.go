// Package upload is the agent's side of the push to the provincial hub: it takes
// whatever the store changed since the hub's last acknowledgement and sends it in the
// wire format of motcua-agent/sync/wire.
//
// It never sends personal data, never drops a counter it has not seen acknowledged, and
// never reads device state itself: everything comes from a Source.
package upload

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"motcua-agent/sync/wire"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Counter is one row of the store's daily counters: the absolute value of (day, metric,
// dimensions) and the revision at which it last changed.
type Counter struct {
	Day      string
	Metric   string
	Dims     map[string]string
	Value    int64
	Revision int64
	Epoch    string // the opening of the record that counted it; see wire.Snapshot
}

// Source is where the client reads counters and keeps its watermark.
//
// CountersChangedSince returns the rows whose Revision is greater than afterRevision,
// in increasing Revision order, at most limit of them. Revisions must be strictly
// increasing across the whole store and become visible in that order (a row never
// appears later with a revision below one already returned), so "everything up to the
// acknowledged revision has been sent" stays true. Meta and SetMeta keep small values
// durably; SetMeta returns only when the value survives a crash.
type Source interface {
	CountersChangedSince(ctx context.Context, afterRevision int64, limit int) ([]Counter, error)
	Meta(ctx context.Context, key string) (string, bool, error)
	SetMeta(ctx context.Context, key, value string) error
}

// PendingCounter is optionally implemented by a Source that can count the rows above a
// revision without reading them.
type PendingCounter interface {
	CountersPending(ctx context.Context, afterRevision int64) (int64, error)
}

// LastRevisioner is optionally implemented by a Source that knows the highest revision
// its record has ever given out. With it, the client notices a record that went back in
// time: the hub holds revisions this record has never reached.
type LastRevisioner interface {
	LastRevision(ctx context.Context) (int64, error)
}

// Clock is the client's time, injectable so tests cover weeks of backoff in
// milliseconds.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Meta keys the client keeps in the Source.
const (
	MetaWatermark = "sync.watermark" // highest revision the hub acknowledged
	MetaStatus    = "sync.status"    // Status as JSON, for `sync status` in another process
)

// ClientConfig configures a Client. Zero durations and sizes take the defaults.
type ClientConfig struct {
	HubURL     string // https://hub.example:8443 (the push path is appended)
	Site       string
	Device     string
	Secret     []byte
	TLS        *tls.Config   // trusted CAs for the hub; nil means the system roots
	Interval   time.Duration // between pushes when all is sent; default 1 minute
	BatchSize  int           // snapshots per push; default 1000, at most MaxSnapshotsPerPush
	MinBackoff time.Duration // first wait after a failure; default 2 seconds
	MaxBackoff time.Duration // cap of the wait; default 10 minutes
	Timeout    time.Duration // one request; default 30 seconds
	NoGzip     bool          // send uncompressed bodies (for measurements)
	Version    string        // agent version for the heartbeat
	Devices    func() []wire.DeviceState
	// Names, if set, are the site's names for its codes (PROTOCOL.md, "Names"): sent to
	// a hub that speaks wire.NamesSchema, on the first push and whenever they change.
	Names     func() []wire.Name
	Clock     Clock
	Log       *slog.Logger
	Transport http.RoundTripper // overrides the TLS transport (tests)
	// OnAttempt, if set, is called with the status after every attempt (health, metrics).
	OnAttempt func(Status)
	// FromHub: the sender is a provincial hub pushing to the national tier (its rows
	// carry their site and commune); rows are checked as the upper hub checks them.
	FromHub bool
	// Steering, if set, gives the heartbeat's config and update states (either may be
	// nil), sent to a hub that speaks wire.SteeringSchema (PROTOCOL.md, "Steering").
	Steering func() (*wire.ConfigState, *wire.UpdateState)
	// OnSteer, if set, is called with the offers of every accepted push's answer that
	// carries one (either may be nil). It must not block: the sync loop waits for it.
	OnSteer func(*wire.ConfigOffer, *wire.ReleaseOffer)
}

func (c *ClientConfig) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	c.BatchSize = min(c.BatchSize, wire.MaxSnapshotsPerPush)
	if c.MinBackoff <= 0 {
		c.MinBackoff = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// LoadCA returns a TLS configuration that trusts the PEM certificates in caFile, or the
// system roots when caFile is empty.
func LoadCA(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read hub CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("hub CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Status is what `sync status` and the dashboard show.
type Status struct {
	Hub           string    `json:"hub"`
	Device        string    `json:"device"`
	Watermark     int64     `json:"watermark"`
	Backlog       int64     `json:"backlog"` // rows changed since the last acknowledgement
	LastAttempt   time.Time `json:"last_attempt"`
	LastSuccess   time.Time `json:"last_success"`
	LastError     string    `json:"last_error,omitempty"`    // English, for technicians and logs
	LastErrorVi   string    `json:"last_error_vi,omitempty"` // Vietnamese, for the dashboard
	LastErrorAt   time.Time `json:"last_error_at"`
	Failures      int       `json:"failures"` // consecutive failed attempts
	NextAttempt   time.Time `json:"next_attempt"`
	ClockOffsetMS int64     `json:"clock_offset_ms"` // hub time minus agent time
	Sent          int64     `json:"sent"`            // snapshots acknowledged since the agent started
	// Unsendable counts rows left out because no hub would accept them (a negative
	// value, a bad name): a bug in a flow, to report.
	Unsendable     int64  `json:"unsendable,omitempty"`
	LastUnsendable string `json:"last_unsendable,omitempty"`
	// Rewound is set when the hub holds revisions from this device above the record's
	// last one: the record was replaced or restored from an older copy. Nothing is
	// double-counted (its new counts are a new epoch at the hub); the site should know.
	Rewound string `json:"rewound,omitempty"`
}

// Client pushes a Source's changed counters to the hub. It never gives up and never
// skips a row the hub has not acknowledged.
type Client struct {
	cfg     ClientConfig
	src     Source
	http    *http.Client
	pushURL string
	trigger chan struct{}

	drainMu sync.Mutex // one drain at a time (the loop and `sync now`)
	mu      sync.Mutex
	status  Status
	offset  time.Duration // added to the local clock when signing
	loaded  bool
	// hubSchema is the schema the hub last answered with; namesSent the names it
	// accepted last (their JSON), so unchanged names are not sent again.
	hubSchema int
	namesSent string
}

// NewClient checks the configuration; nothing is sent until Run or PushNow.
func NewClient(cfg ClientConfig, src Source) (*Client, error) {
	cfg.setDefaults()
	u, err := url.Parse(cfg.HubURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub URL %q must be http(s)://host[:port]", cfg.HubURL)
	}
	if !wire.ValidName(cfg.Site) || !wire.ValidName(cfg.Device) {
		return nil, errors.New("site and device must be short names of letters, digits, '.', '_', ':', '-'")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("device secret is missing or shorter than 16 bytes")
	}
	tr := cfg.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg.TLS
		t.MaxIdleConnsPerHost = 2
		tr = t
	}
	c := &Client{
		cfg:     cfg,
		src:     src,
		http:    &http.Client{Transport: tr, Timeout: cfg.Timeout},
		pushURL: u.JoinPath(wire.PushPath).String(),
		trigger: make(chan struct{}, 1),
	}
	c.status.Hub, c.status.Device = u.Host, cfg.Device
	return c, nil
}

// load reads the watermark and the previous status once.
func (c *Client) load(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return nil
	}
	if raw, ok, err := c.src.Meta(ctx, MetaStatus); err != nil {
		return fmt.Errorf("read sync status: %w", err)
	} else if ok {
		var st Status
		if json.Unmarshal([]byte(raw), &st) == nil {
			st.Hub, st.Device, st.Sent = c.status.Hub, c.status.Device, 0
			c.status = st
			c.offset = time.Duration(st.ClockOffsetMS) * time.Millisecond
		}
	}
	wm, err := ReadWatermark(ctx, c.src)
	if err != nil {
		return err
	}
	c.status.Watermark = wm
	c.loaded = true
	return nil
}

// ReadWatermark returns the highest revision the hub acknowledged, 0 if none.
func ReadWatermark(ctx context.Context, src Source) (int64, error) {
	raw, ok, err := src.Meta(ctx, MetaWatermark)
	if err != nil {
		return 0, fmt.Errorf("read sync watermark: %w", err)
	}
	if !ok {
		return 0, nil
	}
	wm, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || wm < 0 {
		return 0, fmt.Errorf("sync watermark %q is corrupt", raw)
	}
	return wm, nil
}

// ReadStatus returns the status the client last saved in src, with the backlog counted
// now: what `sync status` prints when the agent runs in another process.
func ReadStatus(ctx context.Context, src Source) (Status, error) {
	var st Status
	if raw, ok, err := src.Meta(ctx, MetaStatus); err != nil {
		return st, fmt.Errorf("read sync status: %w", err)
	} else if ok {
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return st, fmt.Errorf("sync status is corrupt: %w", err)
		}
	}
	wm, err := ReadWatermark(ctx, src)
	if err != nil {
		return st, err
	}
	st.Watermark = wm
	st.Backlog, err = CountPending(ctx, src, wm)
	return st, err
}

// CountPending counts the rows changed after revision.
func CountPending(ctx context.Context, src Source, after int64) (int64, error) {
	if pc, ok := src.(PendingCounter); ok {
		return pc.CountersPending(ctx, after)
	}
	var n int64
	for {
		rows, err := src.CountersChangedSince(ctx, after, 10000)
		if err != nil {
			return n, fmt.Errorf("count sync backlog: %w", err)
		}
		n += int64(len(rows))
		if len(rows) < 10000 {
			return n, nil
		}
		after = rows[len(rows)-1].Revision
	}
}

// Status returns the client's current state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Trigger asks the running loop to push at once.
func (c *Client) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// Run pushes until ctx ends: everything changed, then again every Interval, and after
// a failure again after an exponential backoff with jitter, capped at MaxBackoff. It
// returns only when ctx is cancelled.
func (c *Client) Run(ctx context.Context) error {
	for {
		err := c.PushNow(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := c.cfg.Interval
		if err != nil {
			wait = c.backoff(c.Status().Failures)
			// A hub shedding load says when to come back; never sooner, and never later
			// than the cap.
			if he := (*HubError)(nil); errors.As(err, &he) && he.RetryAfter > wait {
				wait = min(he.RetryAfter, c.cfg.MaxBackoff)
			}
		}
		c.mu.Lock()
		c.status.NextAttempt = c.cfg.Clock.Now().Add(wait)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.cfg.Clock.After(wait):
		case <-c.trigger:
		}
	}
}

// backoff is MinBackoff doubled per consecutive failure, capped, with "equal jitter":
// half fixed, half random, so agents that failed together do not return together.
func (c *Client) backoff(failures int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < failures && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// PushNow sends everything changed since the last acknowledgement (at least one push,
// which carries the heartbeat) and records the outcome in the status.
func (c *Client) PushNow(ctx context.Context) error {
	c.drainMu.Lock()
	defer c.drainMu.Unlock()
	if c.cfg.OnAttempt != nil {
		defer func() { c.cfg.OnAttempt(c.Status()) }()
	}
	if err := c.load(ctx); err != nil {
		c.recordFailure(ctx, err)
		return err
	}
	err := c.drain(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.recordFailure(ctx, err)
		}
		return err
	}
	c.mu.Lock()
	now := c.cfg.Clock.Now()
	c.status.LastAttempt, c.status.LastSuccess = now, now
	c.status.Failures = 0
	c.status.LastError, c.status.LastErrorVi = "", ""
	c.mu.Unlock()
	c.saveStatus(ctx)
	return nil
}

func (c *Client) recordFailure(ctx context.Context, err error) {
	en, vi := Describe(err, c.status.Hub)
	c.mu.Lock()
	now := c.cfg.Clock.Now()
	c.status.LastAttempt, c.status.LastErrorAt = now, now
	c.status.Failures++
	c.status.LastError, c.status.LastErrorVi = en, vi
	failures := c.status.Failures
	c.mu.Unlock()
	if failures == 1 || failures%10 == 0 {
		c.cfg.Log.Warn("sync push failed; will retry", "failures", failures, "problem", en)
	}
	c.saveStatus(ctx)
}

func (c *Client) saveStatus(ctx context.Context) {
	raw, _ := json.Marshal(c.Status())
	if err := c.src.SetMeta(context.WithoutCancel(ctx), MetaStatus, string(raw)); err != nil {
		c.cfg.Log.Warn("save sync status", "err", err)
	}
}

func (c *Client) drain(ctx context.Context) error {
	wm := c.Status().Watermark
	backlog, err := CountPending(ctx, c.src, wm)
	if err != nil {
		return err
	}
	c.setBacklog(backlog)
	for {
		rows, more, err := c.nextBatch(ctx, wm)
		if err != nil {
			return err
		}
		backlog = max(backlog, int64(len(rows)))
		sendable := c.dropUnsendable(rows)
		resp, err := c.send(ctx, sendable, backlog)
		if err != nil {
			return err
		}
		var read, sent int64
		for _, r := range rows {
			read = max(read, r.Revision)
		}
		for _, r := range sendable {
			sent = max(sent, r.Revision)
		}
		if resp.Ack < sent {
			return fmt.Errorf("hub acknowledged revision %d of a push up to %d", resp.Ack, sent)
		}
		c.checkRewind(ctx, resp.MaxRevision)
		if ack := read; ack > wm {
			if err := c.src.SetMeta(ctx, MetaWatermark, strconv.FormatInt(ack, 10)); err != nil {
				return fmt.Errorf("save sync watermark: %w", err)
			}
			wm = ack
		}
		backlog = max(0, backlog-int64(len(rows)))
		c.mu.Lock()
		c.status.Watermark = wm
		c.status.Backlog = backlog
		c.status.Sent += int64(len(rows))
		c.mu.Unlock()
		if !more {
			return nil
		}
	}
}

// checkRewind compares the hub's highest revision from this device with the record's.
func (c *Client) checkRewind(ctx context.Context, hubMax int64) {
	lr, ok := c.src.(LastRevisioner)
	if !ok || hubMax == 0 {
		return
	}
	last, err := lr.LastRevision(ctx)
	if err != nil || hubMax <= last {
		return
	}
	note := fmt.Sprintf("the hub holds revision %d from this device but this record has only reached %d: "+
		"the record was replaced or restored from an older copy; its new counts add to the hub's as a new epoch",
		hubMax, last)
	c.mu.Lock()
	first := c.status.Rewound == ""
	c.status.Rewound = note
	c.mu.Unlock()
	if first {
		c.cfg.Log.Warn("sync: record went back in time", "hub_max_revision", hubMax, "record_last_revision", last)
	}
}

// nextBatch reads up to BatchSize rows above wm, whole revisions only: one event can
// change several rows, which then share its revision, and a watermark set in the
// middle of a revision would skip the rest of it forever. more says rows remain.
func (c *Client) nextBatch(ctx context.Context, wm int64) (rows []Counter, more bool, err error) {
	for limit := c.cfg.BatchSize; ; limit *= 2 {
		rows, err = c.src.CountersChangedSince(ctx, wm, limit)
		if err != nil {
			return nil, false, fmt.Errorf("read changed counters: %w", err)
		}
		if len(rows) < limit {
			return rows, false, nil
		}
		last := rows[len(rows)-1].Revision
		cut := len(rows)
		for cut > 0 && rows[cut-1].Revision == last {
			cut--
		}
		if cut > 0 {
			return rows[:cut], true, nil
		}
		// One revision fills the whole batch: read more until it ends (the hub takes up
		// to MaxSnapshotsPerPush; an event never counts that many rows).
		if limit >= wire.MaxSnapshotsPerPush {
			return rows, true, nil
		}
	}
}

// dropUnsendable leaves out rows the hub would refuse whatever happens (a negative
// value, a name outside the protocol's alphabet): retrying them forever would stop
// every other counter from reaching the province. Each is logged and counted in the
// status; if the row changes again it gets a new revision and is tried again.
func (c *Client) dropUnsendable(rows []Counter) []Counter {
	earliest := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	out := rows[:0:0]
	for _, r := range rows {
		snap := wire.Snapshot{Day: r.Day, Metric: r.Metric, Dims: r.Dims, Value: r.Value, Revision: r.Revision, Epoch: r.Epoch}
		err := snap.Validate(earliest, latest)
		if err == nil {
			// The hub refuses a whole push holding a row it may not store (a dim outside
			// the vocabulary, a value not a short code): left in, one such row kept in a
			// record would stop every push after it.
			err = wire.CheckRow(r.Metric, r.Dims, c.cfg.FromHub)
		}
		if err != nil {
			// The dims by name only: a value refused may be what must not be logged.
			problem := fmt.Sprintf("counter %s %s (dims %s) cannot be sent: %v", r.Day, r.Metric, strings.Join(slices.Sorted(maps.Keys(r.Dims)), ","), err)
			c.cfg.Log.Error("sync: counter left out", "problem", problem)
			c.mu.Lock()
			c.status.Unsendable++
			c.status.LastUnsendable = problem
			c.mu.Unlock()
			continue
		}
		out = append(out, r)
	}
	return out
}

func (c *Client) setBacklog(n int64) {
	c.mu.Lock()
	c.status.Backlog = n
	c.mu.Unlock()
}

// HubError is a refusal from the hub.
type HubError struct {
	Status  int
	Code    string
	Message string
	HubTime time.Time
	// RetryAfter is the hub's Retry-After (seconds form), when it gave one: the client
	// does not ask again sooner.
	RetryAfter time.Duration
}

func (e *HubError) Error() string {
	return fmt.Sprintf("hub refused the push: %d %s: %s", e.Status, e.Code, e.Message)
}

// send pushes one batch, correcting the clock offset and retrying at once if the hub
// says the agent's clock is off.
func (c *Client) send(ctx context.Context, rows []Counter, backlog int64) (*wire.PushResponse, error) {
	push := wire.PushRequest{Schema: wire.PlainSchema, Site: c.cfg.Site, Device: c.cfg.Device, Snapshots: make([]wire.Snapshot, len(rows))}
	names, namesKey := c.namesToSend()
	if names != nil {
		push.Schema, push.Names = wire.NamesSchema, names
	}
	for i, r := range rows {
		push.Snapshots[i] = wire.Snapshot{Day: r.Day, Metric: r.Metric, Dims: r.Dims, Value: r.Value, Revision: r.Revision, Epoch: r.Epoch}
	}
	hb := wire.Heartbeat{Version: c.cfg.Version, Clock: c.cfg.Clock.Now().UTC(), Backlog: max(0, backlog-int64(len(rows)))}
	if c.cfg.Devices != nil {
		hb.Devices = c.cfg.Devices()
		if len(hb.Devices) > wire.MaxDevicesInBeat {
			hb.Devices = hb.Devices[:wire.MaxDevicesInBeat]
		}
	}
	c.mu.Lock()
	hubSchema := c.hubSchema
	c.mu.Unlock()
	if c.cfg.Steering != nil && hubSchema >= wire.SteeringSchema {
		hb.Config, hb.Update = c.cfg.Steering()
		if hb.Config != nil || hb.Update != nil {
			push.Schema = wire.SteeringSchema
		}
	}
	push.Heartbeat = &hb
	body, err := EncodePush(&push, !c.cfg.NoGzip)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.post(ctx, body)
		var he *HubError
		if attempt < 2 && errors.As(err, &he) && he.Code == wire.CodeClockSkew && !he.HubTime.IsZero() {
			continue // post corrected the offset
		}
		if err == nil {
			c.mu.Lock()
			c.hubSchema = resp.Schema
			if names != nil {
				c.namesSent = namesKey
			}
			c.mu.Unlock()
			if c.cfg.OnSteer != nil && (resp.Config != nil || resp.Release != nil) {
				c.cfg.OnSteer(resp.Config, resp.Release)
			}
		}
		return resp, err
	}
}

// namesToSend are the site's names when the hub reads them and they are not the ones
// it accepted last (nil otherwise), with their JSON.
func (c *Client) namesToSend() ([]wire.Name, string) {
	c.mu.Lock()
	schema, sent := c.hubSchema, c.namesSent
	c.mu.Unlock()
	if c.cfg.Names == nil || schema < wire.NamesSchema {
		return nil, ""
	}
	names := c.cfg.Names()
	if len(names) > wire.MaxNamesPerPush {
		c.cfg.Log.Warn("sync: more names than a push carries; the rest are not sent", "names", len(names), "max", wire.MaxNamesPerPush)
		names = names[:wire.MaxNamesPerPush]
	}
	raw, _ := json.Marshal(names)
	if len(names) == 0 || string(raw) == sent {
		return nil, ""
	}
	return names, string(raw)
}

// EncodePush marshals a push, gzipped if asked.
func EncodePush(p *wire.PushRequest, gz bool) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode push: %w", err)
	}
	if !gz {
		return raw, nil
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress push: %w", err)
	}
	return buf.Bytes(), nil
}

// gzipWriters keeps compressors between pushes: a new one allocates its whole window
// and tables, more than the push it compresses (a national hub's uploader and a
// simulated fleet push thousands a second).
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

func (c *Client) post(ctx context.Context, body []byte) (*wire.PushResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.pushURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build push request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if !c.cfg.NoGzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	c.mu.Lock()
	offset := c.offset
	c.mu.Unlock()
	sentAt := c.cfg.Clock.Now()
	if err := wire.Sign(req, c.cfg.Device, c.cfg.Secret, body, sentAt.Add(offset)); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("push to hub: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read hub answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		var pr wire.PushResponse
		if err := json.Unmarshal(raw, &pr); err != nil {
			return nil, fmt.Errorf("hub answer is not a push response: %w", err)
		}
		c.noteHubTime(sentAt, pr.HubTime, false)
		return &pr, nil
	}
	he := &HubError{Status: resp.StatusCode}
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
		he.RetryAfter = time.Duration(min(secs, 24*3600)) * time.Second
	}
	var er wire.ErrorResponse
	if json.Unmarshal(raw, &er) == nil && er.Code != "" {
		he.Code, he.Message, he.HubTime = er.Code, er.Message, er.HubTime
	} else {
		he.Code, he.Message = "http", fmt.Sprintf("%.200s", bytes.TrimSpace(raw))
	}
	if he.Code == wire.CodeClockSkew {
		c.noteHubTime(sentAt, he.HubTime, true)
	}
	return nil, he
}

// noteHubTime records how far the hub's clock is from ours. The signing offset changes
// only when the hub refused our time, so a small drift does not make every request
// wobble.
func (c *Client) noteHubTime(sentAt, hubTime time.Time, adopt bool) {
	if hubTime.IsZero() {
		return
	}
	mid := sentAt.Add(c.cfg.Clock.Now().Sub(sentAt) / 2)
	measured := hubTime.Sub(mid)
	c.mu.Lock()
	defer c.mu.Unlock()
	if adopt {
		c.offset = measured
		c.cfg.Log.Warn("agent clock differs from the hub; signing with the hub's time", "offset", measured.Round(time.Second))
	}
	c.status.ClockOffsetMS = measured.Milliseconds()
}
