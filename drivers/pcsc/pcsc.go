// Package pcsc reaches smart-card readers through the operating system's PC/SC
// service (pcscd on Linux, WinSCard on Windows): it lists readers, watches card
// insertion and removal, and transmits APDUs with a deadline.
//
// It is the only package that imports github.com/ebfe/scard. It knows nothing of what
// is on the card: it must never interpret APDU contents beyond the transport status
// words (61xx), and never log them (they carry personal data).
package pcsc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// Typed errors callers test with errors.Is.
var (
	// ErrNoService: the PC/SC service is not running (pcscd stopped, or the Windows
	// "Smart Card" service disabled).
	ErrNoService = errors.New("pcsc: the smart card service is not running (start pcscd, or the Windows Smart Card service)")
	// ErrNoReader: the named reader is not attached.
	ErrNoReader = errors.New("pcsc: reader not found")
	// ErrNoCard: no card in the reader.
	ErrNoCard = errors.New("pcsc: no card in the reader")
	// ErrCardRemoved: the card left the reader (or was reset) during the session.
	ErrCardRemoved = errors.New("pcsc: card removed")
	// ErrTimeout: the card did not answer before the deadline.
	ErrTimeout = errors.New("pcsc: card did not answer in time")
	// ErrClosed: the card session was closed or broken by an earlier timeout.
	ErrClosed = errors.New("pcsc: card session closed")
)

// mapError turns a PC/SC error into one of the typed errors above when one fits,
// keeping the original for the log.
func mapError(err error) error {
	var se scard.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se {
	case scard.ErrNoService, scard.ErrServiceStopped:
		return fmt.Errorf("%w (%v)", ErrNoService, err)
	case scard.ErrUnknownReader, scard.ErrReaderUnavailable:
		return fmt.Errorf("%w (%v)", ErrNoReader, err)
	case scard.ErrNoSmartcard:
		return fmt.Errorf("%w (%v)", ErrNoCard, err)
	case scard.ErrRemovedCard, scard.ErrResetCard, scard.ErrUnpoweredCard, scard.ErrUnresponsiveCard:
		return fmt.Errorf("%w (%v)", ErrCardRemoved, err)
	}
	return err
}

// isServiceGone reports whether err means the PC/SC context must be re-established
// (the service stopped or restarted under us).
func isServiceGone(err error) bool {
	var se scard.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se {
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrInvalidHandle, scard.ErrCommError, scard.ErrCommDataLost:
		return true
	}
	return false
}

// ReaderInfo describes one attached reader.
type ReaderInfo struct {
	Name        string
	CardPresent bool
	// Mute: a card is present but did not answer the reset (or stopped answering).
	Mute bool
	ATR  []byte // the card's answer to reset when a card is present
	// Events is pcsc-lite's count of insertions and removals in this reader (0 where
	// the PC/SC stack does not count): a change means a different card, even when two
	// looks at the reader both saw one present.
	Events uint32
}

// ListReaders lists the attached readers and whether each holds a card. With no
// readers it returns an empty list and no error; with no PC/SC service it returns an
// error wrapping ErrNoService.
func ListReaders(ctx context.Context) ([]ReaderInfo, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", mapServiceError(err))
	}
	defer c.Release()
	stop := context.AfterFunc(ctx, func() { c.Cancel() })
	defer stop()
	names, err := c.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return []ReaderInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", mapServiceError(err))
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := c.GetStatusChange(states, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("list readers: status: %w", mapServiceError(err))
	}
	out := make([]ReaderInfo, 0, len(names))
	for _, s := range states {
		ri := ReaderInfo{Name: s.Reader, CardPresent: s.EventState&scard.StatePresent != 0, Mute: s.EventState&scard.StateMute != 0,
			Events: uint32(s.EventState) >> 16}
		if ri.CardPresent {
			ri.ATR = append([]byte(nil), s.Atr...)
		}
		out = append(out, ri)
	}
	return out, nil
}

// mapServiceError is mapError where any sign of a missing service becomes
// ErrNoService.
func mapServiceError(err error) error {
	if isServiceGone(err) {
		return fmt.Errorf("%w (%v)", ErrNoService, err)
	}
	return mapError(err)
}
