package identity

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/keyboard"
)

// EventTyped is the kind of the event appended each time the panel types a holder's
// fields: how many, at which counter, never what.
const EventTyped = "identity.typed"

// TypedAttrs are EventTyped's attributes: how much was typed, never what.
type TypedAttrs struct {
	Fields  int    `json:"fields"` // holder fields typed
	Keys    int    `json:"keys"`   // the other strokes (Tab, Enter)
	Chars   int    `json:"chars"`
	Trigger string `json:"trigger"`
}

// panel keeps the last read of each counter in memory for the identity panel (the
// counter console, the reception page, /identity/panel): the facts for everyone with
// the counter role, the holder's fields only for roles that may see personal data. It
// forgets a holder after card.panel.clear_after, on "Xóa", and at shutdown; it never
// writes a holder's data to the store or the log.
type panel struct {
	d    *Deps
	sub  *bus.Subscription
	open func(keyboard.Options) (keyboard.Typist, error)

	mu       sync.Mutex
	views    map[string]*panelView // by counter
	watchers map[chan struct{}]string
	typing   sync.Mutex // one typing at a time on this desktop
}

type panelView struct {
	status Status
	person *Person
	at     time.Time
}

func newPanel(d *Deps) *panel {
	open := d.Keyboard
	if open == nil {
		open = keyboard.Open
	}
	return &panel{d: d, sub: d.Bus.Subscribe(64, TopicIdentity), open: open, views: map[string]*panelView{},
		watchers: map[chan struct{}]string{}}
}

// run follows the identity topic and clears old holders until ctx ends.
func (p *panel) run(ctx context.Context) {
	var hot sync.WaitGroup
	hot.Add(1)
	go func() { defer hot.Done(); p.hotkey(ctx) }()
	defer hot.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer p.sub.Close()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.views = map[string]*panelView{}
			p.mu.Unlock()
			return
		case m, ok := <-p.sub.C:
			if !ok {
				return
			}
			p.take(m)
		case <-tick.C:
			p.expire()
		}
	}
}

func (p *panel) take(m bus.Message) {
	st, ok := m.Public.(Status)
	if !ok || st.Counter == "" {
		return
	}
	v := &panelView{status: st, at: m.Time}
	if per, ok := m.Personal.(Person); ok {
		v.person = &per
	}
	p.mu.Lock()
	if old := p.views[st.Counter]; old != nil && st.State != "done" && old.status.State == "done" {
		// A new read starts: the last result stays on screen until the new one comes,
		// with the new state shown above it.
		v.person, v.status.Checks, v.status.Outcome, v.status.Reason = old.person, old.status.Checks, old.status.Outcome, old.status.Reason
		v.status.KeySource, v.status.Method = old.status.KeySource, old.status.Method
		v.at = old.at
	}
	p.views[st.Counter] = v
	p.mu.Unlock()
	p.notify(st.Counter)
}

func (p *panel) expire() {
	now := p.d.Now()
	var cleared []string
	p.mu.Lock()
	for c, v := range p.views {
		if now.Sub(v.at) >= p.d.Card.Panel.ClearAfter {
			delete(p.views, c)
			cleared = append(cleared, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cleared {
		p.notify(c)
	}
}

func (p *panel) clear(counter string) {
	p.mu.Lock()
	delete(p.views, counter)
	p.mu.Unlock()
	p.notify(counter)
}

func (p *panel) notify(counter string) {
	p.mu.Lock()
	for ch, c := range p.watchers {
		if c == counter {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	p.mu.Unlock()
	p.d.Bus.Publish(bus.Message{Topic: TopicPanel, Time: time.Now(), Public: PanelChanged{Counter: counter}})
}

// PanelView is what the panel shows for a counter (GET /api/v1/identity/panel).
type PanelView struct {
	Counter  string       `json:"counter"`
	State    string       `json:"state"` // empty: nothing to show
	Message  string       `json:"message,omitempty"`
	Outcome  string       `json:"outcome,omitempty"`
	Headline string       `json:"headline,omitempty"`
	Facts    []Fact       `json:"facts,omitempty"`
	Fields   []PanelField `json:"fields,omitempty"`
	Photo    string       `json:"photo,omitempty"`
	Personal bool         `json:"personal"` // this role may see the holder's fields
	ReadAt   *time.Time   `json:"read_at,omitempty"`
	ClearsAt *time.Time   `json:"clears_at,omitempty"`
	// ReadAtText and ClearsAtText are those times in the site's zone ("09:05").
	ReadAtText   string      `json:"read_at_text,omitempty"`
	ClearsAtText string      `json:"clears_at_text,omitempty"`
	Typing       PanelTyping `json:"typing"`
	ElapsedMS    int64       `json:"elapsed_ms,omitempty"`
}

// PanelField is one holder field with its Vietnamese label; Main fields are shown
// first, the others folded.
type PanelField struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value string `json:"value"`
	Main  bool   `json:"main,omitempty"`
}

// PanelTyping tells the page whether it may offer typing, and what it types.
type PanelTyping struct {
	Enabled    bool     `json:"enabled"`
	CountdownS float64  `json:"countdown_s"`
	Fields     []string `json:"fields"` // labels, in order ("Số định danh cá nhân", "Tab", …)
}

var fieldLabels = []struct{ key, label string }{
	{"id", "Số định danh cá nhân"}, {"name", "Họ và tên"}, {"birth", "Ngày sinh"}, {"sex", "Giới tính"},
	{"nationality", "Quốc tịch"}, {"ethnicity", "Dân tộc"}, {"religion", "Tôn giáo"}, {"origin", "Quê quán"},
	{"residence", "Nơi thường trú"}, {"issued", "Ngày cấp"}, {"expiry", "Có giá trị đến"}, {"father", "Họ tên cha"},
	{"mother", "Họ tên mẹ"}, {"spouse", "Họ tên vợ/chồng"}, {"old_id", "Số CMND cũ"},
}

var mainFields = map[string]bool{"id": true, "name": true, "birth": true, "sex": true, "residence": true, "expiry": true}

var keyLabels = map[string]string{"tab": "Tab", "enter": "Enter", "space": "Dấu cách"}

// personField is a holder field by its key.
func personField(p *Person, key string) string {
	switch key {
	case "id":
		return p.ID
	case "name":
		return p.Name
	case "birth":
		return p.Birth
	case "sex":
		return p.Sex
	case "nationality":
		return p.Nationality
	case "ethnicity":
		return p.Ethnicity
	case "religion":
		return p.Religion
	case "origin":
		return p.Origin
	case "residence":
		return p.Residence
	case "issued":
		return p.Issued
	case "expiry":
		return p.Expiry
	case "father":
		return p.Father
	case "mother":
		return p.Mother
	case "spouse":
		return p.Spouse
	case "old_id":
		return p.OldID
	}
	return ""
}

func fieldLabel(key string) string {
	for _, f := range fieldLabels {
		if f.key == key {
			return f.label
		}
	}
	return keyLabels[key]
}

func (p *panel) view(counter string, personal bool) PanelView {
	t := p.d.Card.Panel.Typing
	out := PanelView{Counter: counter, Personal: personal,
		Typing: PanelTyping{CountdownS: t.Countdown.Seconds()}}
	for _, f := range t.Fields {
		out.Typing.Fields = append(out.Typing.Fields, fieldLabel(f))
	}
	p.mu.Lock()
	v := p.views[counter]
	p.mu.Unlock()
	if v == nil {
		return out
	}
	st := v.status
	out.State, out.Message, out.Outcome, out.ElapsedMS = st.State, st.Message, st.Outcome, st.ElapsedMS
	if st.Outcome != "" {
		at, clears := v.at, v.at.Add(p.d.Card.Panel.ClearAfter)
		out.ReadAt, out.ClearsAt = &at, &clears
		loc := p.d.Location
		if loc == nil {
			loc = time.Local
		}
		out.ReadAtText, out.ClearsAtText = at.In(loc).Format("15:04"), clears.In(loc).Format("15:04")
		done := st
		done.State = "done"
		out.Facts = Facts(done)
		out.Headline = headlineVI(done)
	}
	if personal && v.person != nil {
		for _, f := range fieldLabels {
			if val := personField(v.person, f.key); val != "" {
				out.Fields = append(out.Fields, PanelField{Key: f.key, Label: f.label, Value: val, Main: mainFields[f.key]})
			}
		}
		out.Photo = v.person.Photo
		out.Typing.Enabled = t.Enabled && typable(st)
	}
	return out
}

// typable says whether a read's data may be typed into another application: only
// data the checks vouch for. A chip whose certificate chain cannot be checked yet (no
// CSCA installed) is typable: its data is signed and unaltered, only the issuer is
// unconfirmed, and the panel says so.
func typable(s Status) bool {
	return s.State == "done" && (s.Outcome == OutcomeOK || s.Reason == ReasonNoAnchor)
}

// headlineVI is the panel's one-line verdict.
func headlineVI(s Status) string {
	switch {
	case s.Outcome == OutcomeOK:
		return "Thẻ hợp lệ"
	case s.Reason == ReasonNoAnchor:
		return "Đã đọc chip, chưa kết luận được nguồn cấp"
	case s.Reason == ReasonAccessDenied:
		return "Không mở được chip"
	case s.Reason == ReasonHashMismatch || s.Reason == ReasonSignature || s.Reason == ReasonChipAuth || s.Reason == ReasonUntrusted:
		return "Cảnh báo: thẻ không đạt kiểm tra"
	case s.Reason == ReasonQRMismatch:
		return "Mã QR không khớp với chip"
	}
	return "Chưa đọc được thẻ"
}

//go:embed pages
var pagesFS embed.FS

func (p *panel) register(s *web.Server) {
	s.HandleFunc("GET /identity/panel", web.ServeFile(pagesFS, "pages/panel.html"))
	s.HandleFunc("GET /api/v1/identity/panel", func(w http.ResponseWriter, r *http.Request) {
		web.WriteJSON(w, http.StatusOK, p.view(counterParam(r), s.MayReceivePersonal(web.RoleOf(r))))
	}, web.RoleCounter)
	s.HandleFunc("GET /api/v1/identity/panel/stream", func(w http.ResponseWriter, r *http.Request) {
		p.stream(w, r, s.MayReceivePersonal(web.RoleOf(r)))
	}, web.RoleCounter)
	s.HandleFunc("POST /api/v1/identity/panel/clear", func(w http.ResponseWriter, r *http.Request) {
		var req panelRequest
		if !web.ReadJSON(w, r, &req) {
			return
		}
		p.clear(orOne(req.Counter))
		web.WriteJSON(w, http.StatusOK, map[string]string{"status": "cleared"})
	}, web.RoleCounter)
	s.HandleFunc("POST /api/v1/identity/panel/type", func(w http.ResponseWriter, r *http.Request) {
		var req panelRequest
		if !web.ReadJSON(w, r, &req) {
			return
		}
		p.handleType(w, r, orOne(req.Counter), s.MayReceivePersonal(web.RoleOf(r)))
	}, web.RoleCounter)
	s.AddPage(web.Page{Path: "/identity/panel", Title: "Kết quả đọc thẻ", Role: web.RoleCounter})
}

type panelRequest struct {
	Counter string `json:"counter"`
}

func counterParam(r *http.Request) string { return orOne(r.URL.Query().Get("counter")) }

func orOne(c string) string {
	if c = strings.TrimSpace(c); c == "" {
		return "1"
	}
	return c
}

// stream sends the counter's panel view as a server-sent event "panel" now and after
// every change.
func (p *panel) stream(w http.ResponseWriter, r *http.Request, personal bool) {
	fl, ok := w.(http.Flusher)
	if !ok {
		web.WriteError(w, http.StatusInternalServerError, "streaming unsupported", "Không hỗ trợ luồng sự kiện.")
		return
	}
	counter := counterParam(r)
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	p.watchers[ch] = counter
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.watchers, ch)
		p.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	send := func() {
		b, _ := json.Marshal(p.view(counter, personal))
		fmt.Fprintf(w, "event: panel\ndata: %s\n\n", b)
		fl.Flush()
	}
	send()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			fmt.Fprintf(w, ": ping\n\n")
			fl.Flush()
		case <-ch:
			send()
		}
	}
}

// Strokes are what typing types for person: the configured fields and keys in order.
func Strokes(fields []string, person *Person) ([]keyboard.Stroke, int) {
	var out []keyboard.Stroke
	holder := 0
	for _, f := range fields {
		if k, ok := keyboard.ParseKey(f); ok {
			out = append(out, keyboard.Press(k))
			continue
		}
		if v := personField(person, f); v != "" {
			out = append(out, keyboard.Text(v))
			holder++
		}
	}
	return out, holder
}

func (p *panel) handleType(w http.ResponseWriter, r *http.Request, counter string, personal bool) {
	if !personal {
		web.WriteError(w, http.StatusForbidden, "this role may not receive personal data", "Vai trò này không được xem thông tin cá nhân.")
		return
	}
	res := p.typeLast(r.Context(), counter, "button")
	if res.status != http.StatusOK {
		if res.err != nil {
			web.WriteFailure(w, res.err, res.status, res.vi)
		} else {
			web.WriteError(w, res.status, res.en, res.vi)
		}
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "typed", "fields": res.fields, "keys": res.keys})
}

// typeResult is the outcome of one typing: an HTTP status with English and
// Vietnamese when it did not happen.
type typeResult struct {
	status       int
	en, vi       string
	err          error
	fields, keys int
}

// typeLast types counter's last read where the desktop's focus is, and records it.
// trigger says who asked: "button" (the panel) or "hotkey".
func (p *panel) typeLast(ctx context.Context, counter, trigger string) typeResult {
	t := p.d.Card.Panel.Typing
	if !t.Enabled {
		return typeResult{status: http.StatusConflict, en: "typing is off (card.panel.typing.enabled)", vi: "Chức năng gõ vào ô đang nhập chưa được bật."}
	}
	p.mu.Lock()
	v := p.views[counter]
	var person *Person
	var st Status
	if v != nil && v.person != nil {
		cp := *v.person
		person, st = &cp, v.status
	}
	p.mu.Unlock()
	if person == nil {
		return typeResult{status: http.StatusNotFound, en: "no card read to type at counter " + counter,
			vi: "Chưa có kết quả đọc thẻ nào ở quầy này để gõ."}
	}
	if !typable(st) {
		return typeResult{status: http.StatusConflict, en: "the card failed verification (" + st.Reason + "): its data is not typed",
			vi: "Thẻ không đạt kiểm tra nên không gõ dữ liệu của thẻ."}
	}
	strokes, holder := Strokes(t.Fields, person)
	if holder == 0 {
		return typeResult{status: http.StatusNotFound, en: "the card read has none of the configured fields",
			vi: "Thẻ vừa đọc không có trường nào cần gõ."}
	}
	p.typing.Lock()
	defer p.typing.Unlock()
	ty, err := p.open(keyboard.Options{Display: t.Display})
	if err != nil {
		p.d.Log.Warn("identity: cannot type", "counter", counter, "err", err)
		return typeResult{status: http.StatusServiceUnavailable, en: err.Error(),
			vi: "Máy trạm không gõ được vào màn hình: hãy chạy phần mềm trong phiên làm việc của cán bộ, hoặc dùng nút Sao chép."}
	}
	defer ty.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ty.Type(tctx, strokes); err != nil {
		p.d.Log.Warn("identity: typing failed", "counter", counter, "err", err)
		return typeResult{status: http.StatusInternalServerError, en: err.Error(), vi: "Gõ vào ô đang nhập không thành công; hãy dùng nút Sao chép."}
	}
	keys := len(strokes) - holder
	ev := store.Event{Time: p.d.Now(), Kind: EventTyped, Site: p.d.Site, Counter: counter,
		Attrs: store.AttrsOf(TypedAttrs{Fields: holder, Keys: keys, Chars: keyboard.Count(strokes), Trigger: trigger})}
	if _, err := p.d.Store.Append(ctx, ev); err != nil {
		return typeResult{status: http.StatusInternalServerError, err: err, vi: "Đã gõ nhưng không ghi được nhật ký."}
	}
	if m := p.d.Metrics; m != nil {
		m.Counter("motcua_identity_typed_total", "Typings of a card's fields into the focused field.", "trigger="+trigger).Inc()
	}
	p.d.Log.Info("identity: typed into the focused field", "counter", counter, "fields", holder, "keys", keys, "trigger", trigger)
	return typeResult{status: http.StatusOK, fields: holder, keys: keys}
}

// hotkey types the configured counter's last read each time the global hotkey is
// pressed, until ctx ends. A hotkey that cannot be grabbed is logged and the button
// still works.
func (p *panel) hotkey(ctx context.Context) {
	t := p.d.Card.Panel.Typing
	if !t.Enabled || t.Hotkey == "" {
		return
	}
	h, err := config.ParseHotkey(t.Hotkey)
	if err != nil {
		return // the config was validated
	}
	presses, err := keyboard.ListenHotkey(ctx, keyboard.Options{Display: t.Display}, h)
	if err != nil {
		p.d.Log.Warn("identity: typing hotkey not available", "hotkey", t.Hotkey, "err", err)
		return
	}
	p.d.Log.Info("identity: typing hotkey ready", "hotkey", h.String(), "counter", t.Counter)
	for range presses {
		if res := p.typeLast(ctx, t.Counter, "hotkey"); res.status != http.StatusOK {
			p.d.Log.Info("identity: hotkey typed nothing", "counter", t.Counter, "why", res.en)
		}
	}
}
