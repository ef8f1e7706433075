// Package lodging is the night's lodging list at a hospital ward's desk (profile
// hospital): patients and relatives who stay overnight must be notified for lodging
// ("thông báo lưu trú", Residence Law 68/2020 art. 30, Circular 55/2021/TT-BCA) before
// 23:00 of the day the stay starts, or before 08:00 the next morning for people who
// arrive later. A chip card read, a card QR scanned or an ID typed at the ward puts the
// person on tonight's list with the reason and the stay; the nurse types each person
// into the VNeID or portal form (the type-into-field path of drivers/keyboard, in the
// form's field order) or exports the list for the facility's account, then marks them
// notified. No public API exists for the notice: this package never submits anything.
//
// It is a package of its own, not part of agent/clinic: it serves another desk (a ward,
// not reception), another duty (the residence law, not health insurance) and keeps its
// personal data in the record, encrypted, which the clinic never does. It shares the
// scan and chip-card topics of the bus with the clinic.
//
// The list is personal data. Its personal part (name, ID number, birth date, sex,
// reason, stay) is kept in the record only sealed with AES-256-GCM under a key outside
// the record, and is erased, with SQLite's secure delete and a WAL checkpoint that
// truncates the log, once the person is notified plus a short grace, or at the
// deadline, whichever comes first. Nothing of it is logged; events carry counts.
package lodging

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/keyboard"
)

// Event kinds: counts only, never a person.
const (
	KindListed   = "lodging.listed"
	KindNotified = "lodging.notified"
	KindErased   = "lodging.erased"
	KindExported = "lodging.exported"
	KindTyped    = "lodging.typed"
)

// Sources of an entry.
const (
	SourceChip  = "chip"
	SourceQR    = "qr"
	SourceTyped = "typed"
)

// Person is who stays: the personal part, sealed in the record.
type Person struct {
	Number string `json:"number"` // the 12-digit ID number, or a passport number
	Name   string `json:"name"`
	Birth  string `json:"birth,omitempty"` // dd/mm/yyyy
	Sex    string `json:"sex,omitempty"`
	Reason string `json:"reason"`
	From   string `json:"from"` // dd/mm/yyyy
	To     string `json:"to"`
}

// Entry is one person on a ward's list.
type Entry struct {
	ID       string    `json:"id"`
	Ward     string    `json:"ward"`
	Source   string    `json:"source"`
	Added    time.Time `json:"added"`
	Deadline time.Time `json:"deadline"`
	Notified time.Time `json:"notified,omitzero"`
	Person   *Person   `json:"person,omitempty"` // nil when it does not open (a lost key)
}

// Deps are what the list needs from the agent.
type Deps struct {
	Config *config.Config
	Store  *store.Store
	Bus    *bus.Bus
	Log    *slog.Logger
	Now    func() time.Time
	// AfterFunc schedules the next erasure (time.AfterFunc when nil).
	AfterFunc func(d time.Duration, f func()) Timer
	// Keyboard opens the desktop to type into (keyboard.Open when nil).
	Keyboard func(keyboard.Options) (keyboard.Typist, error)
}

// Timer is a scheduled call that can be cancelled (*time.Timer is one).
type Timer interface{ Stop() bool }

// List keeps the lodging lists of the site's wards.
type List struct {
	d        Deps
	cfg      config.Lodging
	loc      *time.Location
	seal     *sealer
	deadline time.Duration // time of day
	late     time.Duration
	kick     chan struct{}
	typing   sync.Mutex
	wg       sync.WaitGroup
}

// Errors of the list's requests.
var (
	ErrUnknownWard  = errors.New("lodging: unknown ward")
	ErrUnknownEntry = errors.New("lodging: no such entry on the list (notified and erased, or past its deadline)")
	ErrBadEntry     = errors.New("lodging: bad entry")
)

const schema = `CREATE TABLE IF NOT EXISTS lodging_entries (
	id TEXT PRIMARY KEY,
	ward TEXT NOT NULL,
	source TEXT NOT NULL,
	added_ns INTEGER NOT NULL,
	deadline_ns INTEGER NOT NULL,
	notified_ns INTEGER NOT NULL DEFAULT 0,
	erase_ns INTEGER NOT NULL,
	sealed BLOB NOT NULL
)`

// New opens the list: its key, its table, and the erasure of anything already due.
func New(ctx context.Context, d Deps) (*List, error) {
	if d.Config == nil || d.Store == nil || d.Bus == nil {
		return nil, errors.New("lodging: config, store and bus are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.AfterFunc == nil {
		d.AfterFunc = func(dur time.Duration, fn func()) Timer { return time.AfterFunc(dur, fn) }
	}
	if d.Keyboard == nil {
		d.Keyboard = keyboard.Open
	}
	cfg := d.Config.Lodging
	dl, err := config.ClockOf(cfg.Deadline)
	if err != nil {
		return nil, fmt.Errorf("lodging.deadline: %w", err)
	}
	late, err := config.ClockOf(cfg.LateDeadline)
	if err != nil {
		return nil, fmt.Errorf("lodging.late_deadline: %w", err)
	}
	s, err := loadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	l := &List{d: d, cfg: cfg, loc: d.Store.Location(), seal: s, deadline: dl, late: late, kick: make(chan struct{}, 1)}
	if err := d.Store.Write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(schema); return err }); err != nil {
		return nil, fmt.Errorf("lodging: create the list's table: %w", err)
	}
	if err := l.Sweep(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Start opens the list, follows the wards' scans and chip reads, and erases entries
// when due, until ctx ends. Wait returns when it has stopped.
func Start(ctx context.Context, d Deps) (*List, error) {
	l, err := New(ctx, d)
	if err != nil {
		return nil, err
	}
	reads := d.Bus.Subscribe(256, checkin.Topic, identity.TopicIdentity)
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		reads.Each(ctx, func(m bus.Message) {
			if ward, source, p, ok := l.personOf(m); ok {
				if _, err := l.Add(ctx, ward, source, p); err != nil {
					d.Log.Warn("lodging: a read could not be listed", "ward", ward, "err", err)
				}
			}
		})
	}()
	go func() { defer l.wg.Done(); l.eraser(ctx) }()
	d.Log.Info("lodging: the night's lodging list is kept", "wards", len(l.cfg.Wards))
	return l, nil
}

// Wait blocks until the list's goroutines have stopped (after ctx ends).
func (l *List) Wait() { l.wg.Wait() }

// personOf reads a person from a card QR or a verified chip card at a ward.
func (l *List) personOf(m bus.Message) (ward, source string, p Person, ok bool) {
	switch pub := m.Public.(type) {
	case checkin.Scan:
		if _, known := l.cfg.Ward(pub.Counter); !known || (pub.Kind != cccd.FormCCCD2021 && pub.Kind != cccd.FormCCCD2024) {
			return "", "", Person{}, false
		}
		sp, _ := m.Personal.(checkin.ScanPersonal)
		q, err := cccd.ParseQR(sp.Payload)
		if err != nil {
			return "", "", Person{}, false
		}
		return pub.Counter, SourceQR, Person{Number: q.ID, Name: q.Name, Birth: dmy(q.Birth), Sex: q.Sex}, true
	case identity.Status:
		if _, known := l.cfg.Ward(pub.Counter); !known || pub.Outcome != identity.OutcomeOK {
			return "", "", Person{}, false
		}
		ip, _ := m.Personal.(identity.Person)
		if ip.ID == "" || ip.Name == "" {
			return "", "", Person{}, false
		}
		birth := ip.Birth
		if _, err := cccd.ParseSlashDate(birth); err != nil {
			birth = "" // a card without a full birth date: the form is filled without it
		}
		return pub.Counter, SourceChip, Person{Number: ip.ID, Name: ip.Name, Birth: birth, Sex: ip.Sex}, true
	}
	return "", "", Person{}, false
}

func dmy(d cccd.Date) string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// DeadlineFor is when a stay that begins at t must be notified: the same day's
// deadline (23:00); for an arrival at or after it, or before the late deadline (08:00)
// of the next morning, that morning's late deadline.
func (l *List) DeadlineFor(t time.Time) time.Time {
	t = t.In(l.loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, l.loc)
	switch since := t.Sub(midnight); {
	case since >= l.deadline:
		next := midnight.AddDate(0, 0, 1)
		return next.Add(l.late)
	case since < l.late:
		return midnight.Add(l.late)
	default:
		return midnight.Add(l.deadline)
	}
}

// check validates a person before it is listed; errors never repeat the values.
func (p *Person) check() error {
	p.Number = strings.ToUpper(strings.Join(strings.Fields(p.Number), ""))
	p.Name = strings.Join(strings.Fields(p.Name), " ")
	p.Reason = strings.TrimSpace(p.Reason)
	switch {
	case len(p.Number) < 6 || len(p.Number) > 20 || !alnum(p.Number):
		return fmt.Errorf("%w: the ID number (12 digits) or passport number is required", ErrBadEntry)
	case p.Name == "" || len([]rune(p.Name)) > 100:
		return fmt.Errorf("%w: the full name is required (at most 100 characters)", ErrBadEntry)
	case len([]rune(p.Reason)) > 200:
		return fmt.Errorf("%w: the reason is at most 200 characters", ErrBadEntry)
	case len([]rune(p.Sex)) > 10:
		return fmt.Errorf("%w: the sex is Nam or Nữ", ErrBadEntry)
	}
	for _, d := range []string{p.Birth, p.From, p.To} {
		if d != "" {
			if _, err := cccd.ParseSlashDate(d); err != nil {
				return fmt.Errorf("%w: dates are dd/mm/yyyy", ErrBadEntry)
			}
		}
	}
	if p.From != "" && p.To != "" {
		from, _ := cccd.ParseSlashDate(p.From)
		to, _ := cccd.ParseSlashDate(p.To)
		if to.Before(from) {
			return fmt.Errorf("%w: the stay ends before it starts", ErrBadEntry)
		}
	}
	return nil
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Add puts a person on the ward's list for tonight: the first configured reason and a
// stay from today when not given. The same ID number already on the ward's list is
// not added twice: the existing entry is returned.
func (l *List) Add(ctx context.Context, ward, source string, p Person) (Entry, error) {
	if _, ok := l.cfg.Ward(ward); !ok {
		return Entry{}, fmt.Errorf("%w %q", ErrUnknownWard, ward)
	}
	now := l.d.Now()
	today := now.In(l.loc)
	if today.Sub(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, l.loc)) < l.late {
		today = today.AddDate(0, 0, -1) // before 08:00: the stay began last night
	}
	if p.Reason == "" {
		p.Reason = l.cfg.Reasons[0]
	}
	if p.From == "" {
		p.From = today.Format("02/01/2006")
	}
	if p.To == "" {
		p.To = today.AddDate(0, 0, l.cfg.StayNights).Format("02/01/2006")
	}
	if err := p.check(); err != nil {
		return Entry{}, err
	}
	entries, err := l.Entries(ctx, ward)
	if err != nil {
		return Entry{}, err
	}
	for _, e := range entries {
		if e.Person != nil && e.Person.Number == p.Number {
			return e, nil
		}
	}
	e := Entry{ID: newID(), Ward: ward, Source: source, Added: now, Deadline: l.DeadlineFor(now), Person: &p}
	plain, _ := json.Marshal(p)
	sealed := l.seal.seal(e.ID, plain)
	ev := store.Event{Kind: KindListed, Site: l.d.Config.Site.ID, Counter: ward, Time: now,
		Attrs:  store.AttrsOf(ListedAttrs{Entry: e.ID, Ward: ward, Source: source, Deadline: e.Deadline.UTC().Format(time.RFC3339)}),
		Counts: []store.Count{{Metric: vocab.LodgingListed, Dims: map[string]string{vocab.DimWard: ward, vocab.DimSource: source}, Value: 1}}}
	err = l.d.Store.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO lodging_entries(id, ward, source, added_ns, deadline_ns, erase_ns, sealed) VALUES(?,?,?,?,?,?,?)`,
			e.ID, ward, source, now.UnixNano(), e.Deadline.UnixNano(), e.Deadline.UnixNano(), sealed)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("lodging: keep the entry: %w", err)
	}
	if _, err := l.d.Store.Append(ctx, ev); err != nil {
		l.d.Log.Error("lodging: cannot record a listing", "ward", ward, "err", err)
	}
	l.d.Log.Info("lodging: listed", "ward", ward, "source", source, "entry", e.ID)
	l.wake()
	return e, nil
}

// Update changes an entry's reason or stay (what the nurse corrects on the page).
func (l *List) Update(ctx context.Context, id string, reason, to string) (Entry, error) {
	e, err := l.entry(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	if e.Person == nil {
		return Entry{}, fmt.Errorf("%w: the entry does not open with the key", ErrBadEntry)
	}
	p := *e.Person
	if reason != "" {
		p.Reason = reason
	}
	if to != "" {
		p.To = to
	}
	if err := p.check(); err != nil {
		return Entry{}, err
	}
	plain, _ := json.Marshal(p)
	sealed := l.seal.seal(e.ID, plain)
	err = l.d.Store.Write(ctx, func(tx *sql.Tx) error {
		secureDelete(tx)
		_, err := tx.Exec(`UPDATE lodging_entries SET sealed = ? WHERE id = ?`, sealed, id)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("lodging: update the entry: %w", err)
	}
	e.Person = &p
	return e, nil
}

// Notified marks an entry as notified by the nurse (in VNeID or on the portal). Its
// data is erased after the grace, or at the deadline if that comes first.
func (l *List) Notified(ctx context.Context, id string) (Entry, error) {
	e, err := l.entry(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	if !e.Notified.IsZero() {
		return e, nil
	}
	now := l.d.Now()
	erase := min(now.Add(l.cfg.Grace).UnixNano(), e.Deadline.UnixNano())
	var changed int64
	err = l.d.Store.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE lodging_entries SET notified_ns = ?, erase_ns = ? WHERE id = ? AND notified_ns = 0`, now.UnixNano(), erase, id)
		if err == nil {
			changed, _ = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("lodging: mark notified: %w", err)
	}
	e.Notified = now
	if changed == 1 {
		late := now.After(e.Deadline)
		_, err := l.d.Store.Append(ctx, store.Event{Kind: KindNotified, Site: l.d.Config.Site.ID, Counter: e.Ward, Time: now,
			Attrs:  store.AttrsOf(NotifiedAttrs{Entry: id, Ward: e.Ward, Late: late}),
			Counts: []store.Count{{Metric: vocab.LodgingNotified, Dims: map[string]string{vocab.DimWard: e.Ward}, Value: 1}}})
		if err != nil {
			l.d.Log.Error("lodging: cannot record a notice", "ward", e.Ward, "err", err)
		}
		l.d.Log.Info("lodging: marked notified", "ward", e.Ward, "entry", id)
	}
	l.wake()
	return e, nil
}

// Entries is a ward's list ("" for every ward), in the order people were added.
func (l *List) Entries(ctx context.Context, ward string) ([]Entry, error) {
	rows, err := l.d.Store.DB().QueryContext(ctx, `SELECT id, ward, source, added_ns, deadline_ns, notified_ns, sealed
		FROM lodging_entries WHERE (? = '' OR ward = ?) ORDER BY added_ns, rowid`, ward, ward)
	if err != nil {
		return nil, fmt.Errorf("lodging: read the list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var added, deadline, notified int64
		var sealed []byte
		if err := rows.Scan(&e.ID, &e.Ward, &e.Source, &added, &deadline, &notified, &sealed); err != nil {
			return nil, fmt.Errorf("lodging: read the list: %w", err)
		}
		e.Added, e.Deadline = time.Unix(0, added), time.Unix(0, deadline)
		if notified != 0 {
			e.Notified = time.Unix(0, notified)
		}
		if plain, err := l.seal.open(e.ID, sealed); err == nil {
			var p Person
			if json.Unmarshal(plain, &p) == nil {
				e.Person = &p
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (l *List) entry(ctx context.Context, id string) (Entry, error) {
	all, err := l.Entries(ctx, "")
	if err != nil {
		return Entry{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return Entry{}, ErrUnknownEntry
}

// secureDelete makes SQLite overwrite what a statement removes (the writer's
// connection keeps it on: deleted events are better gone too).
func secureDelete(tx *sql.Tx) { tx.Exec(`PRAGMA secure_delete = ON`) }

// Sweep erases the entries whose time has come: notified ones after their grace,
// every one at its deadline (counted as missed when not notified). Their rows are
// overwritten and the write-ahead log is checkpointed and truncated, so no copy of the
// sealed data stays in the record's files.
func (l *List) Sweep(ctx context.Context) error {
	now := l.d.Now()
	type due struct {
		id, ward string
		notified bool
	}
	var gone []due
	err := l.d.Store.Write(ctx, func(tx *sql.Tx) error {
		secureDelete(tx)
		rows, err := tx.Query(`SELECT id, ward, notified_ns FROM lodging_entries WHERE erase_ns <= ?`, now.UnixNano())
		if err != nil {
			return err
		}
		for rows.Next() {
			var d due
			var n int64
			if err := rows.Scan(&d.id, &d.ward, &n); err != nil {
				rows.Close()
				return err
			}
			d.notified = n != 0
			gone = append(gone, d)
		}
		rows.Close()
		if len(gone) == 0 {
			return rows.Err()
		}
		if _, err := tx.Exec(`UPDATE lodging_entries SET sealed = zeroblob(length(sealed)) WHERE erase_ns <= ?`, now.UnixNano()); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM lodging_entries WHERE erase_ns <= ?`, now.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("lodging: erase the entries that are due: %w", err)
	}
	if len(gone) == 0 {
		return nil
	}
	if err := l.checkpoint(ctx); err != nil {
		l.d.Log.Warn("lodging: erased, but the write-ahead log could not be truncated yet; retried at the next erasure", "err", err)
	}
	for _, d := range gone {
		ev := store.Event{Kind: KindErased, Site: l.d.Config.Site.ID, Counter: d.ward, Time: now,
			Attrs: store.AttrsOf(ErasedAttrs{Entry: d.id, Ward: d.ward, Notified: d.notified})}
		if !d.notified {
			ev.Counts = []store.Count{{Metric: vocab.LodgingMissed, Dims: map[string]string{vocab.DimWard: d.ward}, Value: 1}}
		}
		if _, err := l.d.Store.Append(ctx, ev); err != nil {
			l.d.Log.Error("lodging: cannot record an erasure", "ward", d.ward, "err", err)
		}
	}
	l.d.Log.Info("lodging: erased from the record", "entries", len(gone))
	return nil
}

// checkpoint copies the log into the record and truncates it to nothing. A reader of
// the record (a page, a CLI beside the agent) can hold the log for a moment: it is
// asked again for up to a few seconds.
func (l *List) checkpoint(ctx context.Context) error {
	var err error
	for try := 0; try < 100; try++ {
		var busy, logged, done int
		err = l.d.Store.DB().QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done)
		if err == nil && busy == 0 {
			return nil
		}
		if err == nil {
			err = errors.New("a reader holds the log")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Millisecond):
		}
	}
	return err
}

func (l *List) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// nextErase is when the next entry is due for erasure (zero when none).
func (l *List) nextErase(ctx context.Context) time.Time {
	var ns sql.NullInt64
	l.d.Store.DB().QueryRowContext(ctx, `SELECT min(erase_ns) FROM lodging_entries`).Scan(&ns)
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64)
}

// eraser sleeps until the next entry is due (or the list changes), then sweeps.
func (l *List) eraser(ctx context.Context) {
	fired := make(chan struct{}, 1)
	var failed bool
	for {
		wait := time.Hour
		if next := l.nextErase(ctx); !next.IsZero() {
			wait = max(next.Sub(l.d.Now()), 0)
		}
		if failed {
			wait = max(wait, 15*time.Second) // a record refusing writes is not asked in a loop
		}
		t := l.d.AfterFunc(wait, func() {
			select {
			case fired <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-l.kick:
		case <-fired:
		}
		t.Stop()
		err := l.Sweep(ctx)
		failed = err != nil
		if failed && ctx.Err() == nil {
			l.d.Log.Error("lodging: erasure failed; retried in 15 s", "err", err)
		}
	}
}

// Warning is a ward's people not yet notified as a deadline nears.
type Warning struct {
	Ward     string    `json:"ward"`
	Pending  int       `json:"pending"`
	Deadline time.Time `json:"deadline"`
	Message  string    `json:"message"` // Vietnamese
}

// Warnings are the wards with people not notified within warn_before of their
// deadline, the nearest deadline first.
func (l *List) Warnings(ctx context.Context) ([]Warning, error) {
	all, err := l.Entries(ctx, "")
	if err != nil {
		return nil, err
	}
	now := l.d.Now()
	by := map[string]*Warning{}
	for _, e := range all {
		if !e.Notified.IsZero() || now.Before(e.Deadline.Add(-l.cfg.WarnBefore)) {
			continue
		}
		w := by[e.Ward]
		if w == nil {
			w = &Warning{Ward: e.Ward, Deadline: e.Deadline}
			by[e.Ward] = w
		}
		w.Pending++
		if e.Deadline.Before(w.Deadline) {
			w.Deadline = e.Deadline
		}
	}
	var out []Warning
	for _, w := range by {
		w.Message = warningText(w.Pending, w.Deadline.In(l.loc), now.In(l.loc))
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Deadline.Before(out[j].Deadline) })
	return out, nil
}
