package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// maxResponse caps what Transmit assembles from chained 61xx responses.
const maxResponse = 64 << 10

// Card is a session with the card in one reader. Transmit may be called from one
// goroutine at a time; Close may be called from any goroutine.
type Card struct {
	reader string
	ctx    *scard.Context
	card   *scard.Card
	atr    []byte

	mu     sync.Mutex // serialises Transmit
	closed chan struct{}
	once   sync.Once
	busy   chan struct{} // holds a token while a PC/SC call is in flight
	broken error
}

// Connect opens a session with the card in reader; it fails with ErrNoCard when the
// reader is empty and ErrNoReader when it is not attached. The session is exclusive: another program cannot talk to
// the card in the middle of our secure-messaging exchange.
func Connect(ctx context.Context, reader string) (*Card, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", reader, mapServiceError(err))
	}
	type result struct {
		card *scard.Card
		err  error
	}
	done := make(chan result, 1)
	go func() {
		k, err := c.Connect(reader, scard.ShareExclusive, scard.ProtocolAny)
		if errors.Is(err, scard.ErrSharingViolation) {
			// Some readers' drivers keep a shared handle open a moment after the
			// previous session; fall back to shared rather than fail the read.
			k, err = c.Connect(reader, scard.ShareShared, scard.ProtocolAny)
		}
		done <- result{k, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		// SCardConnect does not block long in practice; wait for it to release the
		// handle cleanly.
		r = <-done
		if r.err == nil {
			r.card.Disconnect(scard.LeaveCard)
		}
		c.Release()
		return nil, fmt.Errorf("connect %s: %w", reader, ctx.Err())
	}
	if r.err != nil {
		c.Release()
		return nil, fmt.Errorf("connect %s: %w", reader, mapServiceError(r.err))
	}
	k := &Card{reader: reader, ctx: c, card: r.card, closed: make(chan struct{}), busy: make(chan struct{}, 1)}
	if st, err := r.card.Status(); err == nil {
		k.atr = append([]byte(nil), st.Atr...)
	}
	return k, nil
}

// Reader is the name of the reader holding the card.
func (k *Card) Reader() string { return k.reader }

// ATR is the card's answer to reset.
func (k *Card) ATR() []byte { return append([]byte(nil), k.atr...) }

// Transmit sends one command APDU and returns the response APDU (data and status
// word). It waits at most until ctx's deadline; a card that does not answer in time
// breaks the session (the reader may still be busy with it), and later calls return
// ErrClosed. A 61xx answer is followed by GET RESPONSE transparently (T=0 readers).
// It implements the transmitter the eMRTD reader needs.
func (k *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.broken != nil {
		return nil, k.broken
	}
	var out []byte
	cmd := apdu
	for {
		rsp, err := k.transmitOnce(ctx, cmd)
		if err != nil {
			return nil, err
		}
		if len(rsp) < 2 {
			// A reader answers nothing at all when the card went silent mid-command
			// (vpcd does this when the card is pulled).
			k.broken = fmt.Errorf("transmit: %w: response of %d bytes has no status word", ErrCardRemoved, len(rsp))
			return nil, k.broken
		}
		sw1, sw2 := rsp[len(rsp)-2], rsp[len(rsp)-1]
		if sw1 != 0x61 {
			if out == nil {
				return rsp, nil
			}
			return append(out, rsp...), nil
		}
		out = append(out, rsp[:len(rsp)-2]...)
		if len(out) > maxResponse {
			return nil, fmt.Errorf("transmit: chained response longer than %d bytes", maxResponse)
		}
		cmd = []byte{apdu[0] & 0x03, 0xC0, 0x00, 0x00, sw2} // GET RESPONSE on the same channel
	}
}

func (k *Card) transmitOnce(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) < 4 {
		return nil, fmt.Errorf("transmit: command APDU of %d bytes is too short", len(cmd))
	}
	select {
	case <-k.closed:
		return nil, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transmit: %w", err)
	}
	type result struct {
		rsp []byte
		err error
	}
	done := make(chan result, 1)
	k.busy <- struct{}{}
	go func() {
		defer func() { <-k.busy }()
		rsp, err := k.card.Transmit(cmd)
		done <- result{rsp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			err := mapError(r.err)
			if errors.Is(err, ErrCardRemoved) || isServiceGone(r.err) {
				k.broken = fmt.Errorf("transmit: %w", err)
			}
			return nil, fmt.Errorf("transmit: %w", err)
		}
		return r.rsp, nil
	case <-ctx.Done():
		k.broken = fmt.Errorf("transmit: %w: an earlier command timed out", ErrClosed)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("transmit: %w", ErrTimeout)
		}
		return nil, fmt.Errorf("transmit: %w", ctx.Err())
	case <-k.closed:
		return nil, ErrClosed
	}
}

// Present reports whether the card is still in the reader and this session valid.
func (k *Card) Present() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.broken != nil {
		return false
	}
	k.busy <- struct{}{}
	defer func() { <-k.busy }()
	_, err := k.card.Status()
	return err == nil
}

// closeWait bounds how long Close waits for a PC/SC call still in flight.
const closeWait = 5 * time.Second

// Close ends the session, resetting the card so that the next session starts from a
// clean state (no secure-messaging keys left open). It is safe to call more than once.
func (k *Card) Close() error {
	var err error
	k.once.Do(func() {
		close(k.closed)
		select {
		case k.busy <- struct{}{}:
			err = k.card.Disconnect(scard.ResetCard)
			<-k.busy
		case <-time.After(closeWait):
			err = fmt.Errorf("close %s: a command is still in flight", k.reader)
			// Cancel what can be cancelled; the context is released below anyway.
		}
		if rerr := k.ctx.Release(); err == nil && rerr != nil && !isServiceGone(rerr) {
			err = rerr
		}
		if err != nil && (errors.Is(mapError(err), ErrCardRemoved) || isServiceGone(err)) {
			err = nil // nothing left to reset
		}
	})
	return err
}

// ExtendedLength says whether the card declares extended-length APDUs in its ATR
// (card capabilities, ISO 7816-4 8.1.1.2.7, third software function byte bit 7).
// known is false when the ATR carries no card-capabilities object: the caller then
// starts with short APDUs and grows only if the card accepts.
func (k *Card) ExtendedLength() (supported, known bool) {
	return ATRExtendedLength(k.atr)
}

// ATRExtendedLength reads the extended-length capability out of an ATR.
func ATRExtendedLength(atr []byte) (supported, known bool) {
	hist := historicalBytes(atr)
	if len(hist) < 1 || hist[0] != 0x80 {
		return false, false
	}
	b := hist[1:]
	// Category 80: only compact-TLV objects follow.
	for len(b) > 0 {
		tag, n := b[0]>>4, int(b[0]&0x0F)
		if 1+n > len(b) {
			break
		}
		if tag == 0x7 && n >= 3 {
			return b[3]&0x40 != 0, true
		}
		b = b[1+n:]
	}
	return false, false
}

// historicalBytes extracts the historical bytes from an ATR (ISO 7816-3).
func historicalBytes(atr []byte) []byte {
	if len(atr) < 2 {
		return nil
	}
	t0 := atr[1]
	k := int(t0 & 0x0F)
	i := 2
	y := t0 >> 4
	for {
		for bit := byte(1); bit <= 8; bit <<= 1 {
			if y&bit != 0 {
				i++
			}
		}
		if y&0x8 == 0 {
			break
		}
		if i-1 >= len(atr) {
			return nil
		}
		y = atr[i-1] >> 4
	}
	if i+k > len(atr) {
		return nil
	}
	return atr[i : i+k]
}
