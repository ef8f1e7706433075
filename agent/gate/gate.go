// Package gate is the tourist-site and relic-site gate: each lane's decision on a
// scanned code (allow, refuse with a reason, or ask staff), the site's occupancy and
// capacity, the relay that opens the turnstile, staff actions, the closing-time
// reconciliation, and the events and daily counters for all of it.
//
// Occupancy lives in the store: every decision is an event appended (and durable)
// before the relay opens, and the state is folded back from those events at start, so
// a power cut resets nothing. It must never store, log or publish an ID number or a
// scanned payload: visitors are known only by the store's keyed hash.
package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/relay"
	"motcua-agent/internal/metrics"
)

// Scan is one code read at a lane. At is when its last byte arrived.
type Scan struct {
	Lane    string
	Payload []byte
	At      time.Time
}

// Outcomes of a decision.
const (
	Allow   = "allow"
	Refuse  = "refuse"
	Staff   = "staff"   // refused, and the visitor is sent to staff
	Ignored = "ignored" // a duplicate read of the same code: nothing happens
)

// Refusal reasons (the dims of gate.refusals).
const (
	ReasonAlreadyInside = "already_inside"
	ReasonFull          = "full"
	ReasonClosed        = "closed"
	ReasonUnreadable    = "unreadable"
	ReasonNotAllowed    = "not_allowed"
	ReasonLaneFault     = "lane_fault"
	ReasonStoreFault    = "store_fault"
)

// Site states set by staff.
const (
	SiteOpen   = "open"
	SiteFull   = "full"
	SiteClosed = "closed"
)

// Directions of a decision.
const (
	DirEntry = "entry"
	DirExit  = "exit"
)

// Event kinds.
const (
	KindEntry      = "gate.entry"
	KindExit       = "gate.exit"
	KindRefused    = "gate.refused"
	KindVoided     = "gate.voided" // the relay failed after an allowed decision was recorded
	KindReconciled = "gate.reconciled"
	KindManualOpen = "gate.manual_open"
	KindSiteState  = "gate.site_state"
)

// Metrics (daily counters).
const (
	MetricEntries         = vocab.GateEntries
	MetricExits           = vocab.GateExits
	MetricExitsUnmatched  = vocab.GateExitsUnmatched
	MetricUniqueVisitors  = vocab.GateUniqueVisitors
	MetricPeakOccupancy   = vocab.GatePeakOccupancy
	MetricRefusals        = vocab.GateRefusals
	MetricReconciled      = vocab.GateReconciled
	MetricManualOpens     = vocab.GateManualOpens
	metaFoldAfter         = "gate.fold_after"
	topic                 = "gate"
	maxDuplicateRemembers = 100000
)

var eventKinds = []string{KindEntry, KindExit, KindVoided, KindReconciled, KindSiteState}

// Decision is what a lane decided about one scan.
type Decision struct {
	Lane      string    `json:"lane"`
	Outcome   string    `json:"outcome"`
	Direction string    `json:"direction,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"` // Vietnamese, for the lane's screen
	Occupancy int       `json:"occupancy"`
	Capacity  int       `json:"capacity"`
	At        time.Time `json:"at"`
	Seq       int64     `json:"seq,omitempty"`
}

// Options build a Gate.
type Options struct {
	Config  *config.Config
	Store   *store.Store
	IDs     *store.IDHasher
	Bus     *bus.Bus
	Health  *health.Registry
	Metrics *metrics.Registry
	Log     *slog.Logger
	Now     func() time.Time
	// Relays are the lanes' relays by lane name (absent: the lane has none).
	Relays map[string]*relay.Relay
}

type lane struct {
	cfg     config.GateLane
	relay   *relay.Relay
	last    *Decision
	allowed map[string]bool
}

type visitor struct {
	lane string
	at   time.Time
}

// Gate is the site's gate: its lanes and shared occupancy. Its methods are safe for
// concurrent use by every lane.
type Gate struct {
	cfg   config.Gate
	site  string
	st    *store.Store
	ids   *store.IDHasher
	bus   *bus.Bus
	hl    *health.Registry
	log   *slog.Logger
	now   func() time.Time
	lanes map[string]*lane
	order []string

	mu             sync.Mutex
	idle           *sync.Cond // signalled when inflight empties
	inside         map[string]visitor
	inflight       map[string]bool
	lastSeen       map[string]time.Time // lane + "\x00" + visitor
	siteState      string
	lastReconciled time.Time
	openedByHand   time.Time // staff set the site open at this time

	decisions *metrics.Counter
	refused   *metrics.Counter
	ignored   *metrics.Counter
	latency   *metrics.Histogram
	occGauge  *metrics.Gauge
}

// New builds the gate and folds its state from the store's events.
func New(ctx context.Context, o Options) (*Gate, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	g := &Gate{
		cfg: o.Config.Gate, site: o.Config.Site.ID, st: o.Store, ids: o.IDs, bus: o.Bus, hl: o.Health,
		log: o.Log, now: o.Now, lanes: map[string]*lane{},
		inside: map[string]visitor{}, inflight: map[string]bool{}, lastSeen: map[string]time.Time{},
		siteState: SiteOpen,
		decisions: o.Metrics.Counter("motcua_gate_decisions_total", "Gate decisions (allowed, refused, to staff)."),
		refused:   o.Metrics.Counter("motcua_gate_refusals_total", "Gate scans refused or sent to staff."),
		ignored:   o.Metrics.Counter("motcua_gate_duplicates_total", "Duplicate reads ignored within the window."),
		latency:   o.Metrics.Histogram("motcua_gate_decision_seconds", "Scan to relay command, decision durable.", nil),
		occGauge:  o.Metrics.Gauge("motcua_gate_occupancy", "Visitors inside the site now."),
	}
	g.idle = sync.NewCond(&g.mu)
	for _, lc := range o.Config.Gate.Lanes {
		l := &lane{cfg: lc, relay: o.Relays[lc.Name], allowed: map[string]bool{}}
		for _, k := range lc.AllowedKinds {
			l.allowed[k] = true
		}
		g.lanes[lc.Name] = l
		g.order = append(g.order, lc.Name)
	}
	if err := g.fold(ctx); err != nil {
		return nil, err
	}
	if _, err := g.CheckClosing(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// fold rebuilds who is inside and the site state from the events since the last
// reconciliation.
func (g *Gate) fold(ctx context.Context) error {
	after := int64(0)
	if v, ok, err := g.st.Meta(ctx, metaFoldAfter); err != nil {
		return fmt.Errorf("gate: fold: %w", err)
	} else if ok {
		fmt.Sscan(v, &after)
	}
	for {
		evs, err := g.st.Events(ctx, store.EventFilter{AfterSeq: after, Kinds: eventKinds, Limit: 5000})
		if err != nil {
			return fmt.Errorf("gate: fold: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Seq
			g.apply(e)
		}
	}
	g.occGauge.Set(float64(len(g.inside)))
	return nil
}

// apply folds one recorded event into the state (g.mu held, or during New). An event
// whose attributes do not read is logged and left out.
func (g *Gate) apply(e store.Event) {
	if err := g.applyAttrs(e); err != nil {
		g.log.Warn("gate: replay: skipped an event", "seq", e.Seq, "kind", e.Kind, "err", err)
	}
}

func (g *Gate) applyAttrs(e store.Event) error {
	switch e.Kind {
	case KindEntry:
		var a EntryAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return err
		}
		g.inside[a.Visitor] = visitor{lane: a.Lane, at: e.Time}
		g.lastSeen[a.Lane+"\x00"+a.Visitor] = e.Time
	case KindExit:
		var a ExitAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return err
		}
		delete(g.inside, a.Visitor)
		g.lastSeen[a.Lane+"\x00"+a.Visitor] = e.Time
	case KindVoided:
		var a VoidedAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return err
		}
		if a.Direction == DirEntry {
			delete(g.inside, a.Visitor)
		} else if a.EntryLane != "" {
			g.inside[a.Visitor] = visitor{lane: a.EntryLane, at: e.Time}
		}
	case KindReconciled:
		var a ReconciledAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return err
		}
		g.inside = map[string]visitor{}
		g.lastReconciled = e.Time
		if a.SiteState != "" {
			g.siteState = a.SiteState
		}
	case KindSiteState:
		var a SiteStateAttrs
		if err := e.Attrs.Decode(&a); err != nil {
			return err
		}
		if a.State != "" {
			g.siteState = a.State
			if a.State == SiteOpen {
				g.openedByHand = e.Time
			}
		}
	}
	return nil
}

// Occupancy is how many visitors are inside now.
func (g *Gate) Occupancy() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.inside)
}

// SiteState is open, full or closed, now.
func (g *Gate) SiteState() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateAt(g.now())
}

// stateAt is the site's state at now: what staff set, and closed outside opening
// hours unless staff opened it by hand since the last closing time. g.mu is held.
func (g *Gate) stateAt(now time.Time) string {
	if g.siteState != SiteOpen {
		return g.siteState
	}
	closing, ok := g.closingBefore(now)
	if !ok || g.openedByHand.After(closing) {
		return SiteOpen
	}
	oh, om := g.cfg.OpeningClock()
	loc := g.st.Location()
	c := closing.In(loc)
	opening := time.Date(c.Year(), c.Month(), c.Day()+1, oh, om, 0, 0, loc)
	if now.Before(opening) {
		return SiteClosed
	}
	return SiteOpen
}

func hour(t time.Time, loc *time.Location) string { return t.In(loc).Format("15") }

// OnScan decides a scan: records the decision durably, then opens the lane's relay
// when allowed. Unknown lanes are an error; everything else is a Decision.
func (g *Gate) OnScan(ctx context.Context, s Scan) (Decision, error) {
	l, ok := g.lanes[s.Lane]
	if !ok {
		return Decision{}, fmt.Errorf("gate: unknown lane %q", s.Lane)
	}
	if s.At.IsZero() {
		s.At = g.now()
	}
	code := Classify(s.Payload, g.cfg.TicketPrefix)
	key := ""
	if code.Identity != "" {
		key = g.ids.Hash(code.Identity)
	}
	now := g.now()
	d := Decision{Lane: s.Lane, Kind: code.Kind, At: now, Capacity: g.cfg.Capacity}

	g.mu.Lock()
	dupKey := s.Lane + "\x00" + key
	if key != "" && (g.inflight[key] || (g.cfg.DuplicateWindow > 0 && now.Sub(g.lastSeen[dupKey]) < g.cfg.DuplicateWindow)) {
		d.Outcome, d.Occupancy = Ignored, len(g.inside)
		g.mu.Unlock()
		g.ignored.Inc()
		return d, nil
	}
	var entryLane string
	prev, isInside := g.inside[key]
	switch {
	case code.Kind == config.KindUnreadable:
		d.Reason = ReasonUnreadable
	case !l.allowed[code.Kind]:
		d.Reason = ReasonNotAllowed
	case l.relay != nil && !l.relay.Status().OK:
		d.Reason = ReasonLaneFault
	default:
		d.Direction = DirEntry
		if l.cfg.Direction == config.LaneExit || (l.cfg.Direction == config.LaneBoth && isInside) {
			d.Direction = DirExit
		}
		if d.Direction == DirEntry {
			switch {
			case isInside:
				d.Reason = ReasonAlreadyInside
			case g.stateAt(now) == SiteClosed:
				d.Reason = ReasonClosed
			case g.siteState == SiteFull || (g.cfg.Capacity > 0 && len(g.inside) >= g.cfg.Capacity-g.cfg.Reserve):
				d.Reason = ReasonFull
			}
		}
	}
	var ev store.Event
	hr := hour(now, g.st.Location())
	if d.Reason != "" {
		d.Outcome = Refuse
		if d.Reason == ReasonLaneFault {
			d.Outcome = Staff
		}
		d.Direction = ""
		ev = store.Event{Kind: KindRefused, Attrs: store.AttrsOf(RefusedAttrs{Lane: s.Lane, Kind: code.Kind, Reason: d.Reason}),
			Counts: []store.Count{{Metric: MetricRefusals, Dims: map[string]string{"reason": d.Reason, "lane": s.Lane, "hour": hr}, Value: 1}}}
		d.Occupancy = len(g.inside)
		if key != "" {
			g.lastSeen[dupKey] = now // a refused code read again at once is not refused twice
		}
	} else {
		d.Outcome = Allow
		dims := map[string]string{"lane": s.Lane, "hour": hr, "kind": code.Kind}
		if d.Direction == DirEntry {
			g.inside[key] = visitor{lane: s.Lane, at: now}
			ev = store.Event{Kind: KindEntry, Attrs: store.AttrsOf(EntryAttrs{Lane: s.Lane, Kind: code.Kind, Visitor: key}),
				Counts: []store.Count{
					{Metric: MetricEntries, Dims: dims, Value: 1},
					{Metric: MetricUniqueVisitors, Op: store.OpUnique, Key: key},
					{Metric: MetricPeakOccupancy, Dims: map[string]string{"hour": hr}, Op: store.OpMax, Value: int64(len(g.inside))},
				}}
		} else {
			metric := MetricExitsUnmatched
			if isInside {
				metric = MetricExits
				entryLane = prev.lane
				delete(g.inside, key)
			}
			ev = store.Event{Kind: KindExit, Attrs: store.AttrsOf(ExitAttrs{Lane: s.Lane, Kind: code.Kind, Visitor: key,
				Matched: isInside, EntryLane: entryLane}),
				Counts: []store.Count{{Metric: metric, Dims: dims, Value: 1}}}
		}
		d.Occupancy = len(g.inside)
		g.inflight[key] = true
		g.lastSeen[dupKey] = now
		if len(g.lastSeen) > maxDuplicateRemembers {
			g.forgetOldScans(now)
		}
	}
	g.mu.Unlock()

	ev.Site, ev.Time = g.site, now
	rec, err := g.st.Append(ctx, ev)
	if err != nil {
		g.log.Error("gate: cannot record the decision; refusing", "lane", s.Lane, "err", err)
		if d.Outcome == Allow {
			g.mu.Lock()
			g.undo(key, d.Direction, s.Lane, entryLane)
			d.Occupancy = len(g.inside)
			g.mu.Unlock()
		}
		d.Outcome, d.Reason, d.Direction = Staff, ReasonStoreFault, ""
		d.Message = message(d)
		g.finish(l, d, s.At)
		return d, nil
	}
	d.Seq = rec.Seq
	if d.Outcome == Allow && l.relay != nil {
		if rerr := l.relay.Pulse(ctx, l.cfg.Pulse); rerr != nil {
			d = g.void(ctx, l, d, key, entryLane, rerr)
		} else {
			g.setHealth(l)
		}
	}
	if d.Outcome == Allow {
		g.mu.Lock()
		delete(g.inflight, key)
		g.idle.Broadcast()
		g.mu.Unlock()
	}
	d.Message = message(d)
	g.finish(l, d, s.At)
	return d, nil
}

// undo reverses an allowed decision in memory (g.mu held) and ends it in flight.
func (g *Gate) undo(key, dir, laneName, entryLane string) {
	if dir == DirEntry {
		delete(g.inside, key)
	} else if entryLane != "" {
		g.inside[key] = visitor{lane: entryLane, at: g.now()}
	}
	delete(g.inflight, key)
	g.idle.Broadcast()
}

// void records that an allowed, recorded decision did not open the gate (the relay
// failed), reversing its counts, and turns it into a lane fault for the visitor.
func (g *Gate) void(ctx context.Context, l *lane, d Decision, key, entryLane string, cause error) Decision {
	g.log.Error("gate: relay failed; lane in fault", "lane", l.cfg.Name, "err", cause)
	g.setHealth(l)
	hr := hour(d.At, g.st.Location())
	metric := MetricEntries
	if d.Direction == DirExit {
		metric = MetricExitsUnmatched
		if entryLane != "" {
			metric = MetricExits
		}
	}
	ev := store.Event{Kind: KindVoided, Site: g.site, Time: d.At,
		Attrs: store.AttrsOf(VoidedAttrs{Lane: l.cfg.Name, Visitor: key, Direction: d.Direction, EntryLane: entryLane,
			Voids: d.Seq, Reason: ReasonLaneFault}),
		Counts: []store.Count{
			{Metric: metric, Dims: map[string]string{"lane": l.cfg.Name, "hour": hr, "kind": d.Kind}, Value: -1},
			{Metric: MetricRefusals, Dims: map[string]string{"reason": ReasonLaneFault, "lane": l.cfg.Name, "hour": hr}, Value: 1},
		}}
	g.mu.Lock()
	_, err := g.st.Append(ctx, ev)
	if err != nil {
		// The decision stays recorded as allowed; keep memory equal to the record.
		g.log.Error("gate: cannot record the voided decision", "lane", l.cfg.Name, "err", err)
		delete(g.inflight, key)
		g.idle.Broadcast()
	} else {
		g.undo(key, d.Direction, l.cfg.Name, entryLane)
	}
	d.Occupancy = len(g.inside)
	g.mu.Unlock()
	d.Outcome, d.Reason, d.Direction = Staff, ReasonLaneFault, ""
	return d
}

func (g *Gate) forgetOldScans(now time.Time) {
	for k, t := range g.lastSeen {
		if now.Sub(t) >= g.cfg.DuplicateWindow {
			delete(g.lastSeen, k)
		}
	}
}

// finish publishes a decision and keeps it as the lane's last.
func (g *Gate) finish(l *lane, d Decision, scanAt time.Time) {
	g.latency.Observe(time.Since(scanAt).Seconds())
	g.decisions.Inc()
	if d.Outcome != Allow {
		g.refused.Inc()
	}
	g.mu.Lock()
	dc := d
	l.last = &dc
	occ := len(g.inside)
	g.mu.Unlock()
	g.occGauge.Set(float64(occ))
	if g.bus != nil {
		g.bus.Publish(bus.Message{Topic: topic, Public: LaneDecision{Lane: d.Lane, Outcome: d.Outcome, Direction: d.Direction,
			Reason: d.Reason, Kind: d.Kind, Message: d.Message, Occupancy: occ, Capacity: d.Capacity}})
	}
}

// LaneDecision is a message on the gate's topic: a lane's decision, for its screen. No
// personal data.
type LaneDecision struct {
	Lane      string `json:"lane"`
	Outcome   string `json:"outcome"`
	Direction string `json:"direction"`
	Reason    string `json:"reason"`
	Kind      string `json:"kind"`
	Message   string `json:"message"`
	Occupancy int    `json:"occupancy"`
	Capacity  int    `json:"capacity"`
}

// message is the Vietnamese text the lane's screen shows for a decision.
func message(d Decision) string {
	switch {
	case d.Outcome == Allow && d.Direction == DirEntry:
		return "Xin mời vào. Chúc ông/bà tham quan vui vẻ!"
	case d.Outcome == Allow:
		return "Cảm ơn ông/bà. Hẹn gặp lại!"
	}
	switch d.Reason {
	case ReasonAlreadyInside:
		return "Mã này đã được dùng để vào khu. Khi rời khu, vui lòng quét ở cổng ra."
	case ReasonFull:
		return "Khu tham quan đã đủ số khách cho phép. Xin ông/bà vui lòng chờ."
	case ReasonClosed:
		return "Khu tham quan đã đóng cửa. Hẹn gặp lại ông/bà lần sau."
	case ReasonUnreadable:
		return "Không đọc được mã. Vui lòng quét lại mã QR trên thẻ căn cước hoặc ứng dụng VNeID."
	case ReasonNotAllowed:
		return "Lối này không nhận loại mã này. Vui lòng sang lối bên cạnh."
	case ReasonLaneFault:
		return "Cổng đang gặp sự cố. Vui lòng liên hệ nhân viên."
	case ReasonStoreFault:
		return "Hệ thống đang gặp sự cố. Vui lòng liên hệ nhân viên."
	}
	return ""
}

// ErrBadRequest marks a staff action with bad input.
var ErrBadRequest = errors.New("gate: bad request")

// OpenLane opens a lane's relay by hand (a group, a wheelchair, a fault), recording who
// and why. It does not change occupancy: nobody was identified.
func (g *Gate) OpenLane(ctx context.Context, laneName, who, why string) error {
	l, ok := g.lanes[laneName]
	if !ok {
		return fmt.Errorf("%w: unknown lane %q", ErrBadRequest, laneName)
	}
	if err := staffText(who, why); err != nil {
		return err
	}
	now := g.now()
	ev := store.Event{Kind: KindManualOpen, Site: g.site, Time: now,
		Attrs:  store.AttrsOf(ManualOpenAttrs{Lane: laneName, Who: who, Why: why}),
		Counts: []store.Count{{Metric: MetricManualOpens, Dims: map[string]string{"lane": laneName, "hour": hour(now, g.st.Location())}, Value: 1}}}
	if _, err := g.st.Append(ctx, ev); err != nil {
		return fmt.Errorf("gate: record manual open: %w", err)
	}
	if l.relay != nil {
		if err := l.relay.Pulse(ctx, l.cfg.Pulse); err != nil {
			g.setHealth(l)
			return fmt.Errorf("gate: open lane %s: %w", laneName, err)
		}
	}
	return nil
}

// SetSite sets the site open, full or closed by hand, recording who and why.
func (g *Gate) SetSite(ctx context.Context, state, who, why string) error {
	switch state {
	case SiteOpen, SiteFull, SiteClosed:
	default:
		return fmt.Errorf("%w: site state must be open, full or closed", ErrBadRequest)
	}
	if err := staffText(who, why); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ev := store.Event{Kind: KindSiteState, Site: g.site, Time: g.now(),
		Attrs: store.AttrsOf(SiteStateAttrs{State: state, Who: who, Why: why})}
	if _, err := g.st.Append(ctx, ev); err != nil {
		return fmt.Errorf("gate: record site state: %w", err)
	}
	g.siteState = state
	if state == SiteOpen {
		g.openedByHand = ev.Time
	}
	return nil
}

func staffText(who, why string) error {
	if who == "" || len(who) > 100 {
		return fmt.Errorf("%w: who must name the staff member (at most 100 characters)", ErrBadRequest)
	}
	if why == "" || len(why) > 500 {
		return fmt.Errorf("%w: why must say the reason (at most 500 characters)", ErrBadRequest)
	}
	return nil
}

// closingBefore is the latest closing instant at or before now (ok false without a
// closing time).
func (g *Gate) closingBefore(now time.Time) (time.Time, bool) {
	h, m, ok := g.cfg.ClosingClock()
	if !ok {
		return time.Time{}, false
	}
	loc := g.st.Location()
	n := now.In(loc)
	c := time.Date(n.Year(), n.Month(), n.Day(), h, m, 0, 0, loc)
	if c.After(n) {
		c = c.AddDate(0, 0, -1)
	}
	return c, true
}

// CheckClosing reconciles the day when its closing time has passed since the last
// reconciliation: visitors still inside are closed at the closing time, counted as
// gate.reconciled by the lane they entered, and occupancy starts again at zero. It
// returns how many were closed. The agent calls it every few seconds; tests call it
// after moving their clock.
func (g *Gate) CheckClosing(ctx context.Context) (int, error) {
	now := g.now()
	closing, ok := g.closingBefore(now)
	if !ok {
		return 0, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !closing.After(g.lastReconciled) {
		return 0, nil
	}
	for len(g.inflight) > 0 {
		g.idle.Wait()
	}
	hr := hour(closing, g.st.Location())
	perLane := map[string]int64{}
	for _, v := range g.inside {
		perLane[v.lane]++
	}
	var counts []store.Count
	for ln, n := range perLane {
		counts = append(counts, store.Count{Metric: MetricReconciled, Dims: map[string]string{"lane": ln, "hour": hr}, Value: n})
	}
	state := g.siteState
	if state == SiteFull {
		state = SiteOpen // a new day is not full
	}
	ev := store.Event{Kind: KindReconciled, Site: g.site, Time: closing, Counts: counts,
		Attrs: store.AttrsOf(ReconciledAttrs{Closed: len(g.inside), SiteState: state, At: now.UTC().Format(time.RFC3339)})}
	rec, err := g.st.Append(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("gate: reconcile: %w", err)
	}
	n := len(g.inside)
	g.inside = map[string]visitor{}
	g.lastReconciled = closing
	g.siteState = state
	g.occGauge.Set(0)
	if err := g.st.SetMeta(ctx, metaFoldAfter, fmt.Sprint(rec.Seq-1)); err != nil {
		g.log.Warn("gate: could not move the fold checkpoint (start-up will read more events)", "err", err)
	}
	g.log.Info("gate: day reconciled at closing time", "closing", closing, "closed_visitors", n)
	return n, nil
}

// Run probes the lanes' relays and reconciles at closing time until ctx ends.
func (g *Gate) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := g.CheckClosing(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("gate: closing-time reconciliation failed", "err", err)
		}
		for _, name := range g.order {
			l := g.lanes[name]
			if l.relay == nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := l.relay.Probe(pctx); err != nil && ctx.Err() == nil {
				g.log.Debug("gate: relay probe failed", "lane", name, "err", err)
			}
			cancel()
			g.setHealth(l)
		}
	}
}

// setHealth reports a lane's relay on the dashboard.
func (g *Gate) setHealth(l *lane) {
	if g.hl == nil || l.relay == nil {
		return
	}
	st := l.relay.Status()
	d := health.Device{Name: "gate-" + l.cfg.Name + "-relay", Kind: "relay", State: health.OK,
		Message: "Rơ-le " + l.cfg.Title + " hoạt động tốt"}
	if !st.OK {
		d.State, d.Detail = health.Fault, st.Detail
		d.Message = "Rơ-le " + l.cfg.Title + " không phản hồi: lối này đang từ chối khách, cần kiểm tra cáp USB và nguồn."
	}
	g.hl.Set(d)
}
