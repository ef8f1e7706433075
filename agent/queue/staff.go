package queue

// Officers at counters. They live in the queue, not a package of their own: who is
// signed in at a counter is decided under the same lock that orders the counter's
// calls, recorded as the same kind of durable event and rebuilt by the same replay,
// so a call can never carry an officer who had already signed out.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
)

// StaffKey is the site's staff key: the keyed hashes of the officers' ID numbers and
// PINs in the config are made with it (`motcua-agent staff hash`). One file for the
// whole site, copied to each PC with the config, so a hash in the shared staff list
// matches on every PC.
type StaffKey []byte

// LoadStaffKey reads a key file (hex, at least 16 bytes).
func LoadStaffKey(path string) (StaffKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("staff key: %w (make one with `motcua-agent staff key --out %s` and copy it to every PC of the site)", err, path)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("staff key: %s is not a hex key of at least 16 bytes", path)
	}
	return StaffKey(k), nil
}

// NewStaffKey makes a fresh key, as the hex text its file holds.
func NewStaffKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return hex.EncodeToString(k)
}

func (k StaffKey) mac(parts ...string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// IDHash is the keyed hash of an ID card number (spaces ignored).
func (k StaffKey) IDHash(id string) string {
	return k.mac("staff-id", strings.Join(strings.Fields(id), ""))
}

// PINHash is the keyed hash of an officer's PIN, bound to the officer's id so two
// officers with the same PIN have different hashes.
func (k StaffKey) PINHash(officer, pin string) string {
	return k.mac("staff-pin", officer, strings.TrimSpace(pin))
}

// Officer is who is signed in at a counter, as the console shows it.
type Officer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PIN sign-in is held back after pinFailures wrong PINs at a counter in a row, for
// pinLockout, so a PIN cannot be guessed at the console.
const (
	pinFailures = 5
	pinLockout  = time.Minute
)

// officerByID finds a configured officer.
func (q *Queue) officerByID(id string) (config.Officer, bool) {
	if q.staff == nil {
		return config.Officer{}, false
	}
	for _, o := range q.staff.Officers {
		if o.ID == id {
			return o, true
		}
	}
	return config.Officer{}, false
}

// SignedIn is the officer signed in at a counter (ok false when nobody is).
func (q *Queue) SignedIn(counter string) (Officer, bool) {
	q.mu.Lock()
	id := q.today(q.now()).officer[counter]
	q.mu.Unlock()
	if id == "" {
		return Officer{}, false
	}
	o, _ := q.officerByID(id)
	return Officer{ID: id, Name: o.Name}, true
}

// Officers lists the configured officers (id and name) for the console's sign-in.
func (q *Queue) Officers() []Officer {
	out := []Officer{}
	if q.staff != nil {
		for _, o := range q.staff.Officers {
			out = append(out, Officer{ID: o.ID, Name: o.Name})
		}
	}
	return out
}

var errNoStaffKey = &Error{Status: http.StatusServiceUnavailable, En: "staff sign-in: no staff key loaded (staff.key_file)",
	Vi: "Chưa cài khóa nhân viên trên máy này nên chưa đăng nhập được. Báo cán bộ kỹ thuật."}

// SignInPIN signs an officer in at a counter by their PIN.
func (q *Queue) SignInPIN(ctx context.Context, counter, officer, pin string) (Officer, error) {
	if err := q.checkCounter(counter); err != nil {
		return Officer{}, err
	}
	if q.staffKey == nil {
		return Officer{}, errNoStaffKey
	}
	q.pinMu.Lock()
	if until := q.pinLocked[counter]; q.now().Before(until) {
		q.pinMu.Unlock()
		return Officer{}, refuse(http.StatusTooManyRequests, "Nhập sai mã PIN nhiều lần. Chờ 1 phút rồi thử lại.",
			"counter %s: PIN sign-in held back after %d failures", counter, pinFailures)
	}
	q.pinMu.Unlock()
	o, ok := q.officerByID(officer)
	good := ok && o.PINHash != "" && hmac.Equal([]byte(q.staffKey.PINHash(o.ID, pin)), []byte(o.PINHash))
	q.pinMu.Lock()
	if !good {
		q.pinFails[counter]++
		if q.pinFails[counter] >= pinFailures {
			q.pinFails[counter], q.pinLocked[counter] = 0, q.now().Add(pinLockout)
		}
		q.pinMu.Unlock()
		return Officer{}, refuse(http.StatusUnauthorized, "Mã nhân viên hoặc mã PIN không đúng.", "counter %s: wrong officer or PIN", counter)
	}
	delete(q.pinFails, counter)
	q.pinMu.Unlock()
	return q.signIn(ctx, counter, o, "pin")
}

// SignInCard signs in the officer whose ID card was just verified at the counter's
// reader (idNumber from the verified chip, compared as a keyed hash and dropped). A
// card that is no officer's (a citizen's) changes nothing: ok is false.
func (q *Queue) SignInCard(ctx context.Context, counter, idNumber string) (Officer, bool, error) {
	if q.staffKey == nil || q.staff == nil || idNumber == "" {
		return Officer{}, false, nil
	}
	if _, ok := q.counters[counter]; !ok {
		return Officer{}, false, nil
	}
	h := []byte(q.staffKey.IDHash(idNumber))
	for _, o := range q.staff.Officers {
		if o.IDHash != "" && hmac.Equal(h, []byte(o.IDHash)) {
			off, err := q.signIn(ctx, counter, o, "card")
			return off, err == nil, err
		}
	}
	return Officer{}, false, nil
}

func (q *Queue) signIn(ctx context.Context, counter string, o config.Officer, how string) (Officer, error) {
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	var err error
	if b.officer[counter] != o.ID {
		var e store.Event
		e, err = q.st.Append(ctx, store.Event{Kind: KindSignedIn, Time: now, Site: q.site, Counter: counter,
			Attrs: store.AttrsOf(SignInAttrs{Staff: o.ID, How: how, Replaced: b.officer[counter]})})
		if err == nil {
			err = b.apply(e)
		} else {
			err = fmt.Errorf("queue: record sign-in: %w", err)
		}
	}
	q.mu.Unlock()
	if err != nil {
		return Officer{}, err
	}
	q.publish("signed_in", Ticket{Counter: counter})
	return Officer{ID: o.ID, Name: o.Name}, nil
}

// SignOut ends the sign-in at a counter (nothing when nobody is signed in).
func (q *Queue) SignOut(ctx context.Context, counter string) error {
	if err := q.checkCounter(counter); err != nil {
		return err
	}
	q.mu.Lock()
	now := q.now()
	b := q.today(now)
	var err error
	if id := b.officer[counter]; id != "" {
		var e store.Event
		if e, err = q.st.Append(ctx, store.Event{Kind: KindSignedOut, Time: now, Site: q.site, Counter: counter,
			Attrs: store.AttrsOf(SignInAttrs{Staff: id})}); err == nil {
			err = b.apply(e)
		}
	}
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("queue: record sign-out: %w", err)
	}
	q.publish("signed_out", Ticket{Counter: counter})
	return nil
}
