// Package clinic is the reception of a clinic or commune health station: every ID card
// scanned (the card's QR, the QR VNeID shows, a chip card read) or typed at a reception
// station is looked up at the social-insurance gateway for a valid health-insurance
// card; the answer goes to the reception page and the event stream, and each look-up
// is counted once, per day and station, by outcome and reason. Look-ups made while the
// gateway cannot be reached wait in memory and are retried until it answers, within
// bounds: at most clinic.max_pending of them, each for at most clinic.retry_for.
//
// The look-up and its answer are personal, health-related data: they live in memory
// for the page and the stream only, and a look-up's are dropped once its answer is
// final and it has left the page (or at once when a bound is reached). The record gets
// the outcome and the counts, never a name, ID number, birth date or card number, and
// nothing of them (nor the gateway's ghiChu) is logged.
package clinic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/bhyt"
	"motcua-agent/drivers/cccd"
	"motcua-agent/internal/metrics"
)

// Topic is the bus topic of look-ups: one message per change of state.
const Topic = "bhyt"

// Event kinds.
const (
	// KindLookup is the one event of a finished look-up, carrying its counts.
	KindLookup = "clinic.bhyt_lookup"
	// KindQueued marks a look-up that waits for the gateway, so a restart that loses
	// it (its data was only in memory) still counts it once, as lost.
	KindQueued = "clinic.bhyt_queued"
)

// Daily counters: lookups = successes + the failures of every reason.
const (
	MetricLookups   = vocab.BHYTLookups        // dims {station, source}
	MetricSuccesses = vocab.BHYTLookupsOK      // dims {station}
	MetricFailures  = vocab.BHYTLookupFailures // dims {station, reason}
	// MetricOtherAgency counts answers 001/002 whatever the success rule, so a report
	// can say how many of its successes (or failures) they are.
	MetricOtherAgency = vocab.BHYTLookupsOtherAgency // dims {station}
)

// Success rules, as the look-up events name them.
const (
	RuleStrict      = "000-003-004"
	RuleOtherAgency = "000-001-002-003-004"
)

// Sources of a look-up.
const (
	SourceQR    = "qr"    // the card's QR, or the same QR shown by VNeID
	SourceChip  = "chip"  // a chip card read and verified at the station
	SourceTyped = "typed" // typed on the reception page
)

// States of a look-up.
const (
	StateChecking = "checking"
	StateQueued   = "queued" // the gateway could not be reached; retried until it answers
	StateDone     = "done"
)

// Outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// Reasons of our own, beside the gateway's (bhyt.Reason).
const (
	ReasonNoAccount = "no-account" // no gateway account for the station's operator
	ReasonLost      = "lost"       // the agent stopped while the look-up waited
	ReasonGaveUp    = "gave-up"    // the gateway did not answer within retry_for
	ReasonFull      = "queue-full" // max_pending look-ups already waited: not kept for retry
	// Scans shown but not looked up (not counted).
	ReasonVNeIDNoData  = "vneid-no-data" // a VNeID code without the card's fields
	ReasonUnreadableQR = "unreadable-qr" // a card QR whose fields did not read right
)

// Request is one look-up asked for. Everything but Station, Source and Operator is
// personal data.
type Request struct {
	Station string
	Source  string
	// Number is the 12-digit ID number (or the insurance card number).
	Number string
	Name   string
	// Birth is dd/mm/yyyy (or ddmmyyyy, yyyy-mm-dd, yyyy).
	Birth string
	// Operator is the account key to look up with ("": the station's operator).
	Operator string
}

// Deps are what the flow needs from the agent.
type Deps struct {
	Config   *config.Config
	Store    *store.Store
	Bus      *bus.Bus
	Accounts *bhyt.Accounts
	Health   *health.Registry
	Metrics  *metrics.Registry
	Log      *slog.Logger
	Now      func() time.Time
	// AfterFunc schedules the retrier's wake-up (time.AfterFunc when nil); tests give
	// a clock they move themselves (testkit.Clock).
	AfterFunc func(d time.Duration, f func()) Timer
	// HTTP is the transport to the gateway (http.DefaultClient when nil).
	HTTP *http.Client
}

// Timer is a scheduled call that can be cancelled (*time.Timer is one).
type Timer interface{ Stop() bool }

// Flow runs the look-ups of every station.
type Flow struct {
	d    Deps
	cfg  config.Clinic
	site string
	loc  *time.Location

	mu        sync.Mutex
	operators map[string]string       // station → operator key
	clients   map[string]*bhyt.Client // account key → client
	latest    map[string]*lookup      // station → its latest look-up
	recent    map[string]*lookup      // station + person → look-up, for repeats
	queue     []*lookup
	pending   map[*lookup]bool // not finished
	reachable bool

	closing bool // Wait has begun: no new goroutines

	kick chan struct{}
	sem  chan struct{}
	wg   sync.WaitGroup
	ctx  context.Context

	started, succeeded, failed *metrics.Counter
	queuedGauge                *metrics.Gauge
}

type lookup struct {
	id        string
	req       Request
	account   string
	person    string // the request's identity, for repeats (memory only)
	requested time.Time
	answered  time.Time
	state     string
	outcome   string
	reason    string
	code      string
	attempts  int
	answer    *bhyt.Answer
	persisted bool // its KindQueued event is recorded
	finished  bool
	seq       int64
}

// New builds the flow and counts, once, the look-ups a previous run left waiting.
func New(ctx context.Context, d Deps) (*Flow, error) {
	if d.Config == nil || d.Store == nil || d.Bus == nil {
		return nil, errors.New("clinic: config, store and bus are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.AfterFunc == nil {
		d.AfterFunc = func(dur time.Duration, fn func()) Timer { return time.AfterFunc(dur, fn) }
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	f := &Flow{d: d, cfg: d.Config.Clinic, site: d.Config.Site.ID, loc: d.Store.Location(),
		operators: map[string]string{}, clients: map[string]*bhyt.Client{}, latest: map[string]*lookup{},
		recent: map[string]*lookup{}, pending: map[*lookup]bool{}, reachable: true,
		kick: make(chan struct{}, 1), sem: make(chan struct{}, 4), ctx: ctx,
		started:     d.Metrics.Counter("motcua_bhyt_lookups_total", "Health-insurance look-ups asked for."),
		succeeded:   d.Metrics.Counter("motcua_bhyt_lookups_ok_total", "Health-insurance look-ups that found a valid card."),
		failed:      d.Metrics.Counter("motcua_bhyt_lookups_failed_total", "Health-insurance look-ups that did not."),
		queuedGauge: d.Metrics.Gauge("motcua_bhyt_queued", "Look-ups waiting for the gateway."),
	}
	for _, s := range f.cfg.Stations {
		f.operators[s.ID] = s.Operator
	}
	if err := f.countLost(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// Start builds the flow, follows the scan and identity topics of the bus and retries
// queued look-ups, until ctx ends. Wait returns when it has stopped.
func Start(ctx context.Context, d Deps) (*Flow, error) {
	f, err := New(ctx, d)
	if err != nil {
		return nil, err
	}
	scans := d.Bus.Subscribe(256, TopicScan, TopicIdentity)
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		scans.Each(ctx, func(m bus.Message) {
			if r, ok := f.requestOf(m); ok {
				f.Submit(ctx, r)
			} else if station, reason, ok := f.noticeOf(m); ok {
				f.notice(station, reason)
			}
		})
	}()
	go func() { defer f.wg.Done(); f.retry(ctx) }()
	d.Log.Info("clinic: health-insurance look-up running", "stations", len(f.cfg.Stations), "wire", bhyt.WireVersion)
	return f, nil
}

// Wait blocks until the flow's context has ended and the flow has stopped, then
// records, for the next start, which look-ups were left waiting.
func (f *Flow) Wait() {
	<-f.ctx.Done()
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
	f.wg.Wait()
	f.mu.Lock()
	var left []*lookup
	for l := range f.pending {
		if !l.persisted && !l.finished {
			left = append(left, l)
		}
	}
	f.mu.Unlock()
	for _, l := range left {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f.persistQueued(ctx, l)
		cancel()
	}
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrUnknownStation: a look-up for a station the config does not list.
var ErrUnknownStation = errors.New("clinic: unknown station")

// ErrStopped: a look-up asked for while the flow stops.
var ErrStopped = errors.New("clinic: stopping")

// account resolves the account a station's look-up uses (c.mu held).
func (f *Flow) account(station, operator string) (bhyt.Account, bool) {
	if operator == "" {
		operator = f.operators[station]
	}
	if a, ok := f.d.Accounts.Operator(operator); ok {
		return a, true
	}
	if f.cfg.FacilityFallback && f.d.Accounts != nil && f.d.Accounts.Facility != nil {
		return *f.d.Accounts.Facility, true
	}
	return bhyt.Account{}, false
}

func (f *Flow) client(a bhyt.Account) *bhyt.Client {
	c, ok := f.clients[a.Key]
	if !ok {
		c = &bhyt.Client{BaseURL: f.cfg.Gateway, Account: a, HTTP: f.d.HTTP, Timeout: f.cfg.Timeout, Now: f.d.Now}
		f.clients[a.Key] = c
	}
	return c
}

// Submit starts a look-up and returns its first state; the answer follows on the bus.
// The same person at the same station within the repeat window (the QR, then the
// chip) gets the look-up already made, published again, not a second one.
func (f *Flow) Submit(ctx context.Context, r Request) (View, error) {
	st, ok := f.cfg.Station(r.Station)
	if !ok {
		return View{}, fmt.Errorf("%w %q", ErrUnknownStation, r.Station)
	}
	now := f.d.Now()
	person := personKey(r)
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return View{}, ErrStopped
	}
	key := st.ID + "\x00" + person
	// A repeat shows the look-up in progress, or its gateway answer; one that got no
	// usable answer (refused, malformed, given up) is asked again.
	if prev, ok := f.recent[key]; ok && now.Sub(prev.requested) < f.cfg.RepeatWindow && (!prev.finished || prev.answer != nil) {
		f.displace(st.ID, prev)
		v := f.view(prev, true)
		v.Repeat = true
		f.mu.Unlock()
		f.publish(v)
		return v, nil
	}
	l := &lookup{id: newID(), req: r, person: person, requested: now, state: StateChecking}
	f.forgetOld(now)
	f.displace(st.ID, l)
	if len(f.pending) >= f.cfg.MaxPending {
		// The bound is reached: this look-up is not kept. The retrier probes the
		// gateway now, so a gateway that is back drains the queue at once.
		f.mu.Unlock()
		f.started.Inc()
		f.kickRetry()
		f.finish(ctx, l, nil, ReasonFull)
		return f.viewOf(l), nil
	}
	f.recent[key] = l
	f.pending[l] = true
	acct, hasAccount := f.account(st.ID, r.Operator)
	l.account = acct.Key
	var c *bhyt.Client
	if hasAccount {
		c = f.client(acct)
		f.wg.Add(1) // under f.mu, so never after Wait has begun
	}
	v := f.view(l, true)
	operator := f.operators[st.ID]
	f.mu.Unlock()
	f.started.Inc()
	if !hasAccount {
		f.d.Log.Warn("clinic: no gateway account for the station's operator (see clinic.stations[].operator and the accounts file)",
			"station", st.ID, "operator", operator)
		f.finish(ctx, l, nil, ReasonNoAccount)
		return f.viewOf(l), nil
	}
	f.publish(v)
	go func() {
		defer f.wg.Done()
		select {
		case f.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-f.sem }()
		if f.attempt(ctx, l, c) {
			f.kickRetry() // the gateway answers: the queue can go now
		} else if ctx.Err() == nil {
			f.enqueue(ctx, l)
		}
	}()
	return v, nil
}

// notice shows the nurse why a scan at the station cannot be looked up. It is not a
// look-up: nothing is counted or recorded (the check-in flow recorded the scan).
func (f *Flow) notice(station, reason string) {
	now := f.d.Now()
	l := &lookup{id: newID(), req: Request{Station: station, Source: SourceQR}, requested: now, answered: now,
		state: StateDone, outcome: OutcomeFailed, reason: reason, finished: true}
	f.mu.Lock()
	f.displace(station, l)
	v := f.view(l, false)
	f.mu.Unlock()
	f.publish(v)
}

// personKey identifies a request's person in memory, for repeats.
func personKey(r Request) string {
	return r.Number + "\x00" + r.Birth
}

// onScreen is how long a finished look-up's patient stays in memory for the page.
const onScreen = 30 * time.Minute

// forget drops from memory the people of look-ups past the repeat window, and the
// station's last patient once it has been on screen long enough.
func (f *Flow) forget(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, l := range f.recent {
		if now.Sub(l.requested) >= f.cfg.RepeatWindow && l.finished {
			delete(f.recent, k)
		}
	}
	for st, l := range f.latest {
		if l.finished && now.Sub(l.answered) >= onScreen {
			delete(f.latest, st)
			f.scrub(l)
		}
	}
}

// forgetOld drops repeat entries past the window (f.mu held).
func (f *Flow) forgetOld(now time.Time) {
	if len(f.recent) < 256 {
		return
	}
	for k, l := range f.recent {
		if now.Sub(l.requested) >= f.cfg.RepeatWindow {
			delete(f.recent, k)
		}
	}
}

// displace makes l the station's latest look-up; the one it replaces, if finished, is
// no longer on any page and its patient is dropped (f.mu held).
func (f *Flow) displace(station string, l *lookup) {
	if prev := f.latest[station]; prev != nil && prev != l && prev.finished {
		f.scrub(prev)
	}
	f.latest[station] = l
}

// scrub drops a look-up's personal data: the patient, the answer and its repeat entry.
// What is left (station, outcome, reason, times) is what the record holds anyway
// (f.mu held).
func (f *Flow) scrub(l *lookup) {
	if l.person != "" {
		if key := l.req.Station + "\x00" + l.person; f.recent[key] == l {
			delete(f.recent, key)
		}
	}
	l.req.Number, l.req.Name, l.req.Birth, l.person, l.answer = "", "", "", "", nil
}

// attempt asks the gateway once. It reports whether the gateway answered; a look-up
// with a usable answer (or a refusal that retrying cannot mend) is finished.
func (f *Flow) attempt(ctx context.Context, l *lookup, c *bhyt.Client) bool {
	f.mu.Lock()
	l.attempts++
	f.mu.Unlock()
	a, err := c.Check(ctx, bhyt.Query{Number: l.req.Number, Name: l.req.Name, Birth: l.req.Birth})
	if ctx.Err() != nil {
		return false
	}
	if err == nil && !a.Retryable() {
		f.setReachable(true, "")
		f.finish(ctx, l, &a, "")
		return true
	}
	reason := bhyt.ReasonOf(err)
	if err == nil {
		reason = a.Reason
	}
	if reason == bhyt.ReasonUnavailable || reason == bhyt.ReasonGatewayError {
		detail := "gateway server error"
		if err != nil {
			detail = err.Error()
		}
		f.setReachable(false, detail)
		return false
	}
	// Answered, but not usably: malformed, oversized, refused account, bad query.
	f.setReachable(true, "")
	f.d.Log.Warn("clinic: look-up refused", "station", l.req.Station, "reason", reason, "err", err)
	f.finish(ctx, l, nil, string(reason))
	return true
}

// enqueue keeps a look-up for retry and says so on the page. The page hears "queued"
// before the retrier can see the look-up, so its answer always comes after.
func (f *Flow) enqueue(ctx context.Context, l *lookup) {
	f.mu.Lock()
	if l.finished {
		f.mu.Unlock()
		return
	}
	l.state = StateQueued
	v := f.view(l, true)
	f.mu.Unlock()
	f.publish(v)
	f.persistQueued(ctx, l)
	f.mu.Lock()
	f.queue = append(f.queue, l)
	f.queuedGauge.Set(float64(len(f.queue)))
	f.mu.Unlock()
}

// persistQueued records that a look-up waits (no personal data: its id and station).
func (f *Flow) persistQueued(ctx context.Context, l *lookup) {
	f.mu.Lock()
	if l.persisted {
		f.mu.Unlock()
		return
	}
	l.persisted = true
	f.mu.Unlock()
	_, err := f.d.Store.Append(context.WithoutCancel(ctx), store.Event{Kind: KindQueued, Site: f.site, Counter: l.req.Station, Time: f.d.Now(),
		Attrs: store.AttrsOf(QueuedAttrs{Lookup: l.id, Station: l.req.Station, Source: l.req.Source,
			Requested: l.requested.UTC().Format(time.RFC3339Nano)})})
	if err != nil {
		f.d.Log.Error("clinic: cannot record a waiting look-up", "station", l.req.Station, "err", err)
	}
}

func (f *Flow) kickRetry() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// retry goes through the queue in order whenever kicked or after the backoff, until
// the gateway stops answering; the backoff doubles while it does not. Each round first
// gives up the look-ups older than retry_for, whatever the gateway does.
func (f *Flow) retry(ctx context.Context) {
	backoff := f.cfg.RetryMin
	wake := make(chan struct{}, 1)
	for {
		t := f.d.AfterFunc(backoff, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-f.kick:
		case <-wake:
		}
		t.Stop()
		now := f.d.Now()
		f.forget(now)
		f.mu.Lock()
		items := append([]*lookup(nil), f.queue...)
		f.mu.Unlock()
		var live []*lookup
		for _, l := range items {
			if now.Sub(l.requested) >= f.cfg.RetryFor {
				f.finish(ctx, l, nil, ReasonGaveUp)
			} else {
				live = append(live, l)
			}
		}
		if len(live) == 0 {
			backoff = f.cfg.RetryMin
			continue
		}
		down := false
		for _, l := range live {
			if ctx.Err() != nil {
				return
			}
			f.mu.Lock()
			c := f.clients[l.account]
			f.mu.Unlock()
			if !f.attempt(ctx, l, c) {
				down = true
				break
			}
		}
		if down {
			backoff = min(backoff*2, f.cfg.RetryMax)
		} else {
			backoff = f.cfg.RetryMin
		}
	}
}

// finish records a look-up's outcome once, with its counts, and publishes it.
func (f *Flow) finish(ctx context.Context, l *lookup, a *bhyt.Answer, reason string) {
	f.mu.Lock()
	if l.finished {
		f.mu.Unlock()
		return
	}
	l.finished = true
	delete(f.pending, l)
	for i, q := range f.queue {
		if q == l {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			break
		}
	}
	f.queuedGauge.Set(float64(len(f.queue)))
	// The look-up shows as done only once its event and counts are durable (below): a
	// page that sees the answer also sees it counted.
	outcome, code := OutcomeFailed, ""
	l.answered = f.d.Now() // with finished: what forget() goes by
	otherAgency := false
	if a != nil {
		code, reason = a.Code, string(a.Reason)
		otherAgency = a.Reason == bhyt.ReasonOtherAgency
		if a.OK() || otherAgency && f.cfg.OtherAgencySuccess {
			outcome = OutcomeOK
		}
	}
	attempts, queued := l.attempts, l.persisted
	f.mu.Unlock()

	station := l.req.Station
	counts := []store.Count{{Metric: MetricLookups, Dims: map[string]string{"station": station, "source": l.req.Source}, Value: 1}}
	if outcome == OutcomeOK {
		counts = append(counts, store.Count{Metric: MetricSuccesses, Dims: map[string]string{"station": station}, Value: 1})
		f.succeeded.Inc()
	} else {
		counts = append(counts, store.Count{Metric: MetricFailures, Dims: map[string]string{"station": station, "reason": reason}, Value: 1})
		f.failed.Inc()
	}
	if otherAgency {
		counts = append(counts, store.Count{Metric: MetricOtherAgency, Dims: map[string]string{"station": station}, Value: 1})
		if f.cfg.OtherAgencySuccess {
			counts = append(counts, store.Count{Metric: vocab.BHYTLookupsOtherAgencyOK, Dims: map[string]string{"station": station}, Value: 1})
		}
	}
	attrs := LookupAttrs{Lookup: l.id, Station: station, Source: l.req.Source, Outcome: outcome,
		Reason: reason, Attempts: attempts, Queued: queued, Operator: l.account, Wire: bhyt.WireVersion,
		SuccessRule: f.successRule(), Code: code}
	// The day of the counts is the day the patient came, even when the gateway answered
	// after midnight.
	ev, err := f.d.Store.Append(context.WithoutCancel(ctx), store.Event{Kind: KindLookup, Site: f.site, Counter: station,
		Time: l.requested, Attrs: store.AttrsOf(attrs), Counts: counts})
	if err != nil {
		f.d.Log.Error("clinic: cannot record a look-up", "station", station, "err", err)
	}
	f.mu.Lock()
	l.state, l.outcome, l.reason, l.code, l.seq = StateDone, outcome, reason, code, ev.Seq
	if a != nil {
		l.answer = a
	}
	// The answer is final: its patient stays only while on the station's page, and
	// not at all when a bound ended it (the page and the stream say why without the
	// patient).
	bounded := reason == ReasonFull || reason == ReasonGaveUp
	if bounded {
		f.scrub(l)
	}
	v := f.view(l, true)
	if f.latest[station] != l {
		f.scrub(l)
	}
	f.mu.Unlock()
	f.publish(v)
	f.d.Log.Info("clinic: look-up", "station", station, "source", l.req.Source, "outcome", outcome, "reason", reason,
		"attempts", attempts, "seq", ev.Seq)
}

// countLost finishes, as lost, the look-ups a previous run recorded as waiting and
// never finished: their data was only in that run's memory.
func (f *Flow) countLost(ctx context.Context) error {
	since := f.d.Now().Add(-f.cfg.RetryFor - 48*time.Hour)
	waiting := map[string]QueuedAttrs{}
	at := map[string]time.Time{}
	var order []string
	after := int64(0)
	for {
		evs, err := f.d.Store.Events(ctx, store.EventFilter{AfterSeq: after, Kinds: []string{KindQueued, KindLookup}, Limit: 5000})
		if err != nil {
			return fmt.Errorf("clinic: read waiting look-ups: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Seq
			switch {
			case e.Kind == KindQueued && e.Time.After(since):
				var a QueuedAttrs
				if err := e.Attrs.Decode(&a); err != nil {
					f.d.Log.Warn("clinic: skipped an unreadable waiting look-up", "seq", e.Seq, "err", err)
					continue
				}
				if _, seen := waiting[a.Lookup]; !seen {
					order = append(order, a.Lookup)
				}
				waiting[a.Lookup], at[a.Lookup] = a, e.Time
			case e.Kind == KindLookup:
				var a LookupAttrs
				if err := e.Attrs.Decode(&a); err != nil {
					f.d.Log.Warn("clinic: skipped an unreadable look-up", "seq", e.Seq, "err", err)
					continue
				}
				delete(waiting, a.Lookup)
			}
		}
	}
	for _, id := range order {
		a, ok := waiting[id]
		if !ok {
			continue
		}
		station, source := a.Station, a.Source
		requested := at[id]
		if a.Requested != "" {
			if t, err := time.Parse(time.RFC3339Nano, a.Requested); err == nil {
				requested = t
			}
		}
		_, err := f.d.Store.Append(ctx, store.Event{Kind: KindLookup, Site: f.site, Counter: station, Time: requested,
			Attrs: store.AttrsOf(LookupAttrs{Lookup: id, Station: station, Source: source, Outcome: OutcomeFailed,
				Reason: ReasonLost, Queued: true, Wire: bhyt.WireVersion}),
			Counts: []store.Count{
				{Metric: MetricLookups, Dims: map[string]string{"station": station, "source": source}, Value: 1},
				{Metric: MetricFailures, Dims: map[string]string{"station": station, "reason": ReasonLost}, Value: 1}}})
		if err != nil {
			return fmt.Errorf("clinic: count a lost look-up: %w", err)
		}
	}
	if n := len(waiting); n > 0 {
		f.d.Log.Warn("clinic: look-ups left waiting by the last run were counted as lost (their data was only in memory)", "count", n)
	}
	return nil
}

// successRule names the rule the successes are counted by.
func (f *Flow) successRule() string {
	if f.cfg.OtherAgencySuccess {
		return RuleOtherAgency
	}
	return RuleStrict
}

// setReachable reports the gateway on the dashboard.
func (f *Flow) setReachable(ok bool, detail string) {
	f.mu.Lock()
	changed := f.reachable != ok
	f.reachable = ok
	f.mu.Unlock()
	if changed {
		if ok {
			f.d.Log.Info("clinic: the gateway answers again")
		} else {
			f.d.Log.Warn("clinic: the gateway cannot be reached; look-ups wait and are retried", "err", detail)
		}
	}
	if f.d.Health == nil {
		return
	}
	d := health.Device{Name: "bhyt-gateway", Kind: "gateway", State: health.OK, Message: textGatewayOK}
	if !ok {
		d.State, d.Detail, d.Message = health.Degraded, detail, textGatewayDown
	}
	f.d.Health.Set(d)
}

// SetOperator sets who looks up at a station from now on (an account key).
func (f *Flow) SetOperator(station, operator string) error {
	if _, ok := f.cfg.Station(station); !ok {
		return fmt.Errorf("%w %q", ErrUnknownStation, station)
	}
	if _, ok := f.d.Accounts.Operator(operator); !ok {
		return fmt.Errorf("%w: no operator %q in the accounts file", ErrBadRequest, operator)
	}
	f.mu.Lock()
	f.operators[station] = operator
	f.mu.Unlock()
	f.d.Log.Info("clinic: station operator changed", "station", station, "operator", operator)
	return nil
}

// ErrBadRequest marks a request with bad fields.
var ErrBadRequest = errors.New("clinic: bad request")

// birthOf gives a QR or chip date as dd/mm/yyyy.
func birthOf(d cccd.Date) string { return bhyt.DMY(d) }
