package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/keyboard"
	"motcua-agent/drivers/pcsc"
	"motcua-agent/internal/metrics"
)

// Bus topics.
const (
	TopicScan     = "scan"     // published by the scanner flow: Public {counter, kind}, Personal {payload}
	TopicIdentity = "identity" // published here: one message per verification, and card-waiting notices
	// TopicPanel says a counter's panel changed (a read, a clear, an expiry): Public
	// PanelChanged, nothing personal. Pages that already hold the agent's stream listen
	// for it and fetch the panel, rather than opening a second stream: a browser opens
	// at most six connections to one agent, and a hall's consoles share one browser.
	TopicPanel = "identity.panel"
)

// PanelChanged is the public part of a TopicPanel message.
type PanelChanged struct {
	Counter string `json:"counter"`
}

// EventVerified is the kind of the event appended for every card read.
const EventVerified = "identity.verified"

// Recorder is the part of the store the flow writes to. Append must return only once
// the event is durable.
type Recorder interface {
	Append(ctx context.Context, e store.Event) (store.Event, error)
}

// Hasher gives the keyed hash of an ID number.
type Hasher interface{ Hash(id string) string }

// Deps are what the flow needs from the agent.
type Deps struct {
	Card   config.Card
	Site   string
	Store  Recorder
	IDs    Hasher
	Bus    *bus.Bus
	Health *health.Registry
	Log    *slog.Logger
	Trust  *emrtd.TrustStore
	Now    func() time.Time
	// Metrics, when set, gets verification counts by outcome and read durations.
	Metrics *metrics.Registry
	// Location is the site's time zone, for the times the panel shows (time.Local
	// when nil).
	Location *time.Location
	// Keyboard opens the desktop to type into (keyboard.Open when nil).
	Keyboard func(keyboard.Options) (keyboard.Typist, error)
}

// Flow pairs keys offered for a counter (a scanned QR, typed keys) with the next card
// placed on that counter's reader, reads and verifies it, records it and publishes it.
type Flow struct {
	d Deps

	mu      sync.Mutex
	pending map[string]offer      // by counter
	cards   map[string]*cardState // by reader
	wg      sync.WaitGroup
	ctx     context.Context
	scans   *bus.Subscription // subscribed in New, so no scan published before Run is lost
	panel   *panel
}

type offer struct {
	keys    []emrtd.AccessKey
	qr      *cccd.QR
	source  string // "qr" or "typed"
	purpose string // of the scan that offered the keys; decides whether the photo is read
	expires time.Time
}

type cardState struct {
	counter string
	reading bool
	done    bool // read (or announced as waiting) since it was inserted
	waiting bool // announced as waiting for keys
}

// New makes a flow; Run starts it.
func New(d Deps) *Flow {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Trust == nil {
		d.Trust = emrtd.NewTrustStore()
	}
	f := &Flow{d: d, pending: map[string]offer{}, cards: map[string]*cardState{}, ctx: context.Background(),
		scans: d.Bus.Subscribe(64, TopicScan)}
	f.panel = newPanel(&f.d)
	return f
}

// Run watches the readers and the scan topic until ctx ends, then waits for reads in
// flight.
func (f *Flow) Run(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
	scans := f.scans
	defer scans.Close()
	events := pcsc.Watch(ctx)
	defer f.wg.Wait()
	f.wg.Add(1)
	go func() { defer f.wg.Done(); f.panel.run(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-scans.C:
			if !ok {
				return nil
			}
			f.onScan(m)
		case e, ok := <-events:
			if !ok {
				return nil
			}
			f.onReaderEvent(e)
		}
	}
}

func (f *Flow) onScan(m bus.Message) {
	scan, ok := m.Public.(checkin.Scan)
	if !ok || (scan.Kind != cccd.FormCCCD2021 && scan.Kind != cccd.FormCCCD2024) {
		return
	}
	if scan.Purpose == config.ScanForGate {
		return // a gate lane's scan is the gate's, not a counter's
	}
	personal, _ := m.Personal.(checkin.ScanPersonal)
	if err := f.offerQR(scan.Counter, personal.Payload, scan.Purpose); err != nil {
		f.d.Log.Warn("identity: scanned QR not usable", "counter", scan.Counter, "err", err)
	}
}

func (f *Flow) onReaderEvent(e pcsc.Event) {
	switch e.Kind {
	case pcsc.ServiceLost:
		f.d.Log.Warn("identity: PC/SC service lost", "err", e.Err)
		f.setHealthAll(health.Fault, "PC/SC service not running: "+errString(e.Err), "Dịch vụ đọc thẻ (PC/SC) không chạy; hãy khởi động lại máy hoặc dịch vụ pcscd.")
	case pcsc.ReaderAttached:
		if counter, ok := f.d.Card.CounterOf(e.Reader); ok {
			f.d.Health.Set(health.Device{Name: e.Reader, Kind: "reader", State: health.OK, Detail: "reader attached, counter " + counter,
				Message: "Đầu đọc thẻ sẵn sàng (quầy " + counter + ")."})
		}
	case pcsc.ReaderDetached:
		if _, ok := f.d.Card.CounterOf(e.Reader); ok {
			f.d.Health.Set(health.Device{Name: e.Reader, Kind: "reader", State: health.Absent, Detail: "reader detached",
				Message: "Không thấy đầu đọc thẻ; hãy kiểm tra dây cắm."})
		}
		f.mu.Lock()
		delete(f.cards, e.Reader)
		f.mu.Unlock()
	case pcsc.CardInserted:
		counter, ok := f.d.Card.CounterOf(e.Reader)
		if !ok {
			return
		}
		f.mu.Lock()
		f.cards[e.Reader] = &cardState{counter: counter}
		f.mu.Unlock()
		f.tryRead(e.Reader)
	case pcsc.CardRemoved:
		f.mu.Lock()
		delete(f.cards, e.Reader)
		f.mu.Unlock()
	}
}

func (f *Flow) setHealthAll(state health.State, detail, message string) {
	for _, r := range f.d.Card.Readers {
		f.d.Health.Set(health.Device{Name: r.Name, Kind: "reader", State: state, Detail: detail, Message: message})
	}
	if len(f.d.Card.Readers) == 0 {
		f.d.Health.Set(health.Device{Name: "card-reader", Kind: "reader", State: state, Detail: detail, Message: message})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// OfferQR offers a scanned ID card QR for the next card on counter.
func (f *Flow) OfferQR(counter, payload string) error {
	return f.offerQR(counter, payload, config.ScanForIdentity)
}

func (f *Flow) offerQR(counter, payload, purpose string) error {
	q, err := cccd.ParseQR(payload)
	if err != nil {
		return err
	}
	f.offer(counter, offer{keys: cccd.KeysFromQR(q), qr: &q, source: "qr", purpose: purpose})
	return nil
}

// OfferKeys offers typed keys for the next card on counter.
func (f *Flow) OfferKeys(counter string, keys []emrtd.AccessKey) {
	f.offer(counter, offer{keys: keys, source: "typed", purpose: config.ScanForIdentity})
}

func (f *Flow) offer(counter string, o offer) {
	if counter == "" {
		counter = "1"
	}
	o.expires = f.d.Now().Add(f.d.Card.PairWindow)
	f.mu.Lock()
	f.pending[counter] = o
	var readers []string
	for r, c := range f.cards {
		// A card already on the reader is read now: one announced as waiting, or
		// one read before (new keys mean the official wants it read again).
		if c.counter == counter && !c.reading {
			c.done = false
			readers = append(readers, r)
		}
	}
	f.mu.Unlock()
	for _, r := range readers {
		f.tryRead(r)
	}
}

// tryRead starts reading the card in reader when its counter has fresh keys.
func (f *Flow) tryRead(reader string) {
	f.mu.Lock()
	c := f.cards[reader]
	if c == nil || c.reading || c.done {
		f.mu.Unlock()
		return
	}
	o, ok := f.pending[c.counter]
	if ok && f.d.Now().After(o.expires) {
		delete(f.pending, c.counter)
		ok = false
	}
	if !ok {
		announce := !c.waiting
		c.waiting = true
		f.mu.Unlock()
		if announce {
			f.d.Bus.Publish(bus.Message{Topic: TopicIdentity, Public: Status{Counter: c.counter, State: "waiting-for-keys",
				Message: "Đã đặt thẻ. Hãy quét mã QR trên thẻ, hoặc nhập 6 chữ số in ở góc mặt trước thẻ, để đọc chip."}})
		}
		return
	}
	delete(f.pending, c.counter)
	c.reading, c.waiting = true, false
	ctx := f.ctx
	f.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		f.readAndRecord(ctx, reader, c.counter, o)
		f.mu.Lock()
		if cur := f.cards[reader]; cur == c {
			c.reading, c.done = false, true
		}
		f.mu.Unlock()
	}()
}

func (f *Flow) readAndRecord(ctx context.Context, reader, counter string, o offer) {
	f.d.Bus.Publish(bus.Message{Topic: TopicIdentity, Public: Status{Counter: counter, State: "reading",
		Message: "Đang đọc chip, xin giữ thẻ trên đầu đọc."}})
	v, err := ReadCard(ctx, ReadRequest{Reader: reader, Keys: o.keys, QR: o.qr, Trust: f.d.Trust, Timeout: f.d.Card.ReadTimeout, Now: f.d.Now,
		SkipPhoto: !f.d.Card.ReadsPhoto(o.purpose)})
	if err != nil {
		// No session with a card at all (it left before we connected, or the reader
		// went away): nothing was verified. The keys wait for the next card.
		f.d.Log.Warn("identity: could not connect to the card", "reader", reader, "err", err)
		var again []string
		f.mu.Lock()
		if _, newer := f.pending[counter]; !newer && f.d.Now().Before(o.expires) {
			f.pending[counter] = o
			// A new card may have arrived (and found no keys) while this one failed.
			for r, c := range f.cards {
				if c.counter == counter && !c.reading && !c.done {
					again = append(again, r)
				}
			}
		}
		f.mu.Unlock()
		for _, r := range again {
			f.tryRead(r)
		}
		return
	}
	if ctx.Err() != nil && v.Reason == ReasonTimeout {
		return // shutting down, not a fact about the card
	}
	if err := f.Record(ctx, counter, o.source, v); err != nil {
		f.d.Log.Error("identity: record verification", "counter", counter, "err", err)
	}
}

// Record appends the verification event (with its counter updates) and publishes the
// result: public facts to every subscriber, the holder's data as personal fields.
func (f *Flow) Record(ctx context.Context, counter, source string, v *Verification) error {
	now := f.d.Now()
	method := ""
	if v.Access != nil {
		method = v.Access.Method
	}
	if method == "" {
		method = "none"
	}
	public := Status{Counter: counter, State: "done", Outcome: v.Outcome, Reason: v.Reason, Method: method, KeySource: source,
		ElapsedMS: v.Elapsed.Milliseconds(), APDUs: v.APDUs, Message: messageVI(v)}
	if v.Access != nil && v.Access.Method != "" {
		public.KeyLabel = v.Access.KeyLabel
		public.Checks = &StatusChecks{
			DataGroups: v.Checks.DataGroupHashes, SODSignature: v.Checks.Signature.Status, Chain: v.Checks.Chain,
			ActiveAuth: v.Checks.ActiveAuth.Status, ChipAuth: v.Checks.ChipAuth.Status, DG13: v.Checks.DG13.Status,
			QRAgreement: v.Checks.QR.Status,
		}
	}
	var personal *Person
	var link *bus.Linkable
	if h := v.Holder; h != nil {
		public.AgeBand = h.AgeBand(now)
		if h.ID != "" {
			link = &bus.Linkable{IDHash: f.d.IDs.Hash(h.ID)}
		}
		personal = &Person{ID: h.ID, Name: h.Name, Birth: h.Birth, Sex: h.Sex, Nationality: h.Nationality,
			Ethnicity: h.Ethnicity, Religion: h.Religion, Origin: h.Origin, Residence: h.Residence, Issued: h.Issued,
			Expiry: h.Expiry, Father: h.Father, Mother: h.Mother, Spouse: h.Spouse, OldID: h.OldID, NameMRZ: h.NameMRZ}
		if len(v.PhotoJPEG) > 0 {
			personal.Photo = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(v.PhotoJPEG)
		}
	}
	attrs := public.attrs()
	if link != nil {
		attrs.IDHash = link.IDHash
	}
	if h := v.Holder; h != nil {
		keep := f.d.Card.Keep
		if keep.Name || keep.Address || keep.Photo {
			attrs.Kept = &Kept{Purpose: keep.Purpose}
		}
		if keep.Name {
			attrs.Kept.Name = h.Name
		}
		if keep.Address {
			attrs.Kept.Residence = h.Residence
		}
		if keep.Photo && len(v.PhotoJPEG) > 0 {
			attrs.Kept.PhotoJPEGBase64 = base64.StdEncoding.EncodeToString(v.PhotoJPEG)
		}
	}
	// A verified card has no reason: an empty dim value is no code, and the hub refuses
	// a push that carries one.
	dims := map[string]string{"outcome": v.Outcome, "method": method}
	if v.Reason != "" {
		dims["reason"] = v.Reason
	}
	counts := []store.Count{{Metric: vocab.IdentityVerifications, Op: store.OpAdd, Value: 1, Dims: dims}}
	if v.Outcome == OutcomeOK {
		counts = append(counts, store.Count{Metric: vocab.Checkins, Op: store.OpAdd, Value: 1, Dims: map[string]string{"kind": "chip"}})
		if attrs.IDHash != "" {
			counts = append(counts, store.Count{Metric: vocab.IdentityPeople, Op: store.OpUnique, Value: 1, Key: attrs.IDHash})
		}
	}
	if m := f.d.Metrics; m != nil {
		m.Counter("motcua_identity_verifications_total", "Chip card verifications by outcome.", "outcome="+v.Outcome).Inc()
		m.Histogram("motcua_identity_read_seconds", "Wall time of one chip card read.", nil).Observe(v.Elapsed.Seconds())
	}
	_, err := f.d.Store.Append(ctx, store.Event{Time: now, Kind: EventVerified, Site: f.d.Site, Counter: counter, Attrs: store.AttrsOf(attrs), Counts: counts})
	msg := bus.Message{Topic: TopicIdentity, Time: now, Public: public, Linkable: link}
	if personal != nil {
		msg.Personal = *personal
	}
	f.d.Bus.Publish(msg)
	f.d.Log.Info("identity: card verified", "counter", counter, "outcome", v.Outcome, "reason", v.Reason, "method", method,
		"elapsed", v.Elapsed, "apdus", v.APDUs)
	return err
}

// messageVI is the sentence shown at the counter.
func messageVI(v *Verification) string {
	switch v.Reason {
	case "":
		return "Thẻ hợp lệ: chip đã được xác thực."
	case ReasonAccessDenied:
		return "Không mở được chip: mã QR hoặc thông tin nhập không khớp với thẻ."
	case ReasonHashMismatch, ReasonSignature:
		return "Cảnh báo: dữ liệu trong chip không khớp chữ ký số, thẻ có thể bị sửa đổi."
	case ReasonChipAuth:
		return "Cảnh báo: chip không vượt qua bước xác thực chống sao chép."
	case ReasonNoAnchor, ReasonUntrusted:
		return "Đã đọc chip nhưng chưa kiểm chứng được nguồn cấp (thiếu chứng thư CSCA)."
	case ReasonQRMismatch:
		return "Mã QR không khớp với dữ liệu trong chip."
	case ReasonCardRemoved:
		return "Thẻ bị nhấc ra khi đang đọc; hãy đặt lại thẻ."
	case ReasonTimeout:
		return "Chip không trả lời kịp; hãy đặt lại thẻ."
	case ReasonNoReader:
		return "Không thấy đầu đọc thẻ."
	}
	return "Không đọc được chip; hãy thử lại."
}

// KeysRequest is the body of POST /api/v1/identity/keys: one way to open the next
// card on a counter.
type KeysRequest struct {
	Counter string `json:"counter"`
	QR      string `json:"qr,omitempty"`
	ID      string `json:"id,omitempty"`     // 12-digit ID number
	Birth   string `json:"birth,omitempty"`  // DDMMYYYY or YYYY-MM-DD
	Expiry  string `json:"expiry,omitempty"` // DDMMYYYY or YYYY-MM-DD; empty: none printed
	CAN     string `json:"can,omitempty"`
	MRZ     string `json:"mrz,omitempty"`
}

// Register adds the flow's HTTP API to the web server.
func (f *Flow) Register(s *web.Server) {
	s.HandleFunc("POST /api/v1/identity/keys", f.handleKeys, web.Role("counter"))
	f.panel.register(s)
}

func (f *Flow) handleKeys(w http.ResponseWriter, r *http.Request) {
	var req KeysRequest
	if !web.ReadJSON(w, r, &req) {
		return
	}
	if req.Counter == "" {
		req.Counter = "1"
	}
	keys, q, err := keysFromRequest(req)
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error(), "Số nhập chưa đúng: nhập 6 chữ số in ở góc mặt trước thẻ, hoặc số định danh 12 chữ số kèm ngày sinh.")
		return
	}
	if q != nil {
		f.offer(req.Counter, offer{keys: keys, qr: q, source: "qr"})
	} else {
		f.OfferKeys(req.Counter, keys)
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "waiting", "counter": req.Counter,
		"window_s": int(f.d.Card.PairWindow.Seconds()), "message": "Hãy đặt thẻ lên đầu đọc."})
}

func keysFromRequest(req KeysRequest) ([]emrtd.AccessKey, *cccd.QR, error) {
	switch {
	case req.QR != "":
		q, err := cccd.ParseQR(req.QR)
		if err != nil {
			return nil, nil, err
		}
		return cccd.KeysFromQR(q), &q, nil
	case req.ID != "":
		var birth, expiry cccd.Date
		var err error
		if req.Birth != "" {
			if birth, err = parseTypedDate(req.Birth); err != nil {
				return nil, nil, fmt.Errorf("birth: %w", err)
			}
		}
		if req.Expiry != "" {
			if expiry, err = parseTypedDate(req.Expiry); err != nil {
				return nil, nil, fmt.Errorf("expiry: %w", err)
			}
		}
		keys, err := cccd.KeysFromID(req.ID, birth, expiry)
		return keys, nil, err
	case req.CAN != "":
		keys, _, err := KeysFrom("", "", req.CAN, "", "", "")
		return keys, nil, err
	case req.MRZ != "":
		keys, _, err := KeysFrom("", req.MRZ, "", "", "", "")
		return keys, nil, err
	}
	return nil, nil, errors.New("no key given (qr, id, can or mrz)")
}

func parseTypedDate(s string) (cccd.Date, error) {
	s = strings.TrimSpace(s)
	if len(s) == 10 && s[4] == '-' {
		return cccd.ParseDDMMYYYY(s[8:10] + s[5:7] + s[0:4])
	}
	if len(s) == 10 && s[2] == '/' {
		return cccd.ParseSlashDate(s)
	}
	return cccd.ParseDDMMYYYY(s)
}
