package pcsc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ebfe/scard"
)

// EventKind says what happened at a reader.
type EventKind int

const (
	ReaderAttached EventKind = iota + 1
	ReaderDetached
	CardInserted
	CardRemoved
	ServiceLost // the PC/SC service went away; Watch keeps trying to reconnect
	ServiceBack // the PC/SC service answers again (also sent once at start)
)

func (k EventKind) String() string {
	switch k {
	case ReaderAttached:
		return "reader attached"
	case ReaderDetached:
		return "reader detached"
	case CardInserted:
		return "card inserted"
	case CardRemoved:
		return "card removed"
	case ServiceLost:
		return "service lost"
	case ServiceBack:
		return "service back"
	}
	return "unknown"
}

// Event is one change seen by Watch.
type Event struct {
	Kind   EventKind
	Reader string // empty for service events
	ATR    []byte // CardInserted only
	Err    error  // ServiceLost only: why
}

// pnpReader is the PC/SC pseudo-reader whose state changes when a reader is attached
// or detached.
const pnpReader = `\\?PnP?\Notification`

// retryDelays paces reconnection to a missing PC/SC service: quick at first (pcscd
// restarts in a second), then every few seconds.
var retryDelays = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

// safetyTimeout bounds one SCardGetStatusChange wait, so that a PC/SC stack without
// reader-arrival notification still notices a new reader. It is not polling for
// cards: card changes end the wait at once.
const safetyTimeout = 30 * time.Second

// Watch reports reader and card changes on the returned channel until ctx ends, then
// closes it. It blocks in SCardGetStatusChange (no polling), re-lists readers when the
// PnP notification fires, and re-establishes its PC/SC context after the service
// restarts, reporting cards present at that moment as new insertions. The first events
// describe the current state: ServiceBack (or ServiceLost), then ReaderAttached and
// CardInserted for what is already there.
func Watch(ctx context.Context) <-chan Event {
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		w := watcher{out: out, known: map[string]*readerState{}}
		w.run(ctx)
	}()
	return out
}

type readerState struct {
	present bool
	count   uint32 // pcsc-lite's event counter (upper 16 bits of the event state)
	state   scard.StateFlag
}

type watcher struct {
	out   chan<- Event
	known map[string]*readerState
	lost  bool // ServiceLost was sent and not yet followed by ServiceBack
	first bool
}

func (w *watcher) send(ctx context.Context, e Event) bool {
	select {
	case w.out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		c, err := scard.EstablishContext()
		if err == nil {
			attempt = 0
			err = w.session(ctx, c)
			c.Release()
			if ctx.Err() != nil {
				return
			}
		}
		// Service gone: everything we knew is gone with it.
		if !w.forgetAll(ctx) {
			return
		}
		if !w.lost {
			w.lost = true
			if !w.send(ctx, Event{Kind: ServiceLost, Err: mapServiceError(err)}) {
				return
			}
		}
		d := retryDelays[min(attempt, len(retryDelays)-1)]
		attempt++
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	}
}

// forgetAll reports removal of every known card and reader.
func (w *watcher) forgetAll(ctx context.Context) bool {
	names := make([]string, 0, len(w.known))
	for n := range w.known {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !w.drop(ctx, n) {
			return false
		}
	}
	return true
}

func (w *watcher) drop(ctx context.Context, name string) bool {
	rs := w.known[name]
	delete(w.known, name)
	if rs.present && !w.send(ctx, Event{Kind: CardRemoved, Reader: name}) {
		return false
	}
	return w.send(ctx, Event{Kind: ReaderDetached, Reader: name})
}

// session watches with one PC/SC context until the service goes away (it returns the
// error) or ctx ends.
func (w *watcher) session(ctx context.Context, c *scard.Context) error {
	stop := context.AfterFunc(ctx, func() { c.Cancel() })
	defer stop()
	if w.lost || !w.first {
		w.lost, w.first = false, true
		if !w.send(ctx, Event{Kind: ServiceBack}) {
			return ctx.Err()
		}
	}
	pnp := scard.ReaderState{Reader: pnpReader, CurrentState: scard.StateUnaware}
	for {
		names, err := c.ListReaders()
		if errors.Is(err, scard.ErrNoReadersAvailable) {
			names, err = nil, nil
		}
		if err != nil {
			return err
		}
		for n := range w.known {
			if !slices.Contains(names, n) && !w.drop(ctx, n) {
				return ctx.Err()
			}
		}
		states := []scard.ReaderState{pnp}
		for _, n := range names {
			rs, ok := w.known[n]
			if !ok {
				rs = &readerState{state: scard.StateUnaware}
				w.known[n] = rs
				if !w.send(ctx, Event{Kind: ReaderAttached, Reader: n}) {
					return ctx.Err()
				}
			}
			states = append(states, scard.ReaderState{Reader: n, CurrentState: rs.state})
		}
		err = c.GetStatusChange(states, safetyTimeout)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrUnknownReader):
			// re-list and wait again
		case err != nil:
			return err
		}
		pnp.CurrentState = states[0].EventState &^ scard.StateChanged
		for _, s := range states[1:] {
			if !w.update(ctx, s) {
				return ctx.Err()
			}
		}
	}
}

// update turns one reader's new state into events.
func (w *watcher) update(ctx context.Context, s scard.ReaderState) bool {
	rs := w.known[s.Reader]
	if rs == nil || s.EventState&scard.StateChanged == 0 {
		return true
	}
	if s.EventState&(scard.StateUnknown|scard.StateIgnore) != 0 {
		return w.drop(ctx, s.Reader)
	}
	rs.state = s.EventState &^ scard.StateChanged
	present := s.EventState&scard.StatePresent != 0
	count := uint32(s.EventState) >> 16
	swapped := rs.present && present && count != rs.count && rs.count != 0
	if rs.present && (!present || swapped) {
		if !w.send(ctx, Event{Kind: CardRemoved, Reader: s.Reader}) {
			return false
		}
	}
	if present && (!rs.present || swapped) {
		if !w.send(ctx, Event{Kind: CardInserted, Reader: s.Reader, ATR: append([]byte(nil), s.Atr...)}) {
			return false
		}
	}
	rs.present, rs.count = present, count
	return true
}
