package gate

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"motcua-agent/config"
	"motcua-agent/drivers/cccd"
)

// Code is what a scanned payload was found to be.
type Code struct {
	Kind string // config.KindCCCD, KindVNeID, KindETicket or KindUnreadable
	// Identity is what identifies the visitor or ticket (the ID number, the ticket or
	// VNeID text); it is hashed at once and never stored, logged or published.
	Identity string
	// Why explains an unreadable code (English, for logs; never holds the payload).
	Why string
}

// maxPayload caps a scanned payload; longer lines are unreadable.
const maxPayload = 4096

// minPayload: shorter reads are scanner noise, not a code.
const minPayload = 6

// Classify decides what a scanned payload is: the ID card's QR (7 or more
// '|'-separated fields, a 12-digit ID first), a site e-ticket (its configured prefix),
// a VNeID code (anything else readable: its content is not established, so it is kept
// opaque), or unreadable.
func Classify(payload []byte, ticketPrefix string) Code {
	if len(payload) > maxPayload {
		return Code{Kind: config.KindUnreadable, Why: "payload too long"}
	}
	if !utf8.Valid(payload) {
		return Code{Kind: config.KindUnreadable, Why: "not UTF-8 (keyboard-wedge mode?)"}
	}
	s := strings.TrimSpace(strings.TrimPrefix(string(payload), "\ufeff"))
	if len(s) < minPayload {
		return Code{Kind: config.KindUnreadable, Why: "too short"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Code{Kind: config.KindUnreadable, Why: "control characters in the code"}
		}
	}
	if ticketPrefix != "" && strings.HasPrefix(s, ticketPrefix) {
		return Code{Kind: config.KindETicket, Identity: "ticket:" + s}
	}
	q, err := cccd.ParseQR(s)
	switch {
	case err == nil:
		return Code{Kind: config.KindCCCD, Identity: q.ID}
	case !errors.Is(err, cccd.ErrNotCardQR):
		// It has the card's shape but is damaged: ask for a rescan, never guess.
		return Code{Kind: config.KindUnreadable, Why: "damaged ID card QR"}
	}
	return Code{Kind: config.KindVNeID, Identity: "vneid:" + s}
}
