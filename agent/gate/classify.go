package gate

import (
	"strings"

	"motcua-agent/config"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/qrtext"
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

// codes classifies card QRs and VNeID codes the way the check-in flow does (receipts
// are not gate codes, so the default pattern is enough).
var codes, _ = qrpayload.NewClassifier("")

// Classify decides what a scanned payload is at a gate: a site e-ticket (its
// configured prefix), the ID card's QR, a VNeID code, or unreadable (bytes that are
// not a clean payload, a damaged card QR, or text of no kind the gate knows).
func Classify(payload []byte, ticketPrefix string) Code {
	s, err := qrtext.Text(payload)
	if err != nil {
		return Code{Kind: config.KindUnreadable, Why: err.Error()}
	}
	if ticketPrefix != "" && strings.HasPrefix(s, ticketPrefix) && len(s) > len(ticketPrefix) {
		return Code{Kind: config.KindETicket, Identity: "ticket:" + s}
	}
	p := codes.ClassifyText(s)
	switch p.Kind {
	case qrpayload.KindCCCD2021, qrpayload.KindCCCD2024:
		return Code{Kind: config.KindCCCD, Identity: p.Card.ID}
	case qrpayload.KindVNeID:
		// The same key the check-in flow hashes, so a visitor is one person in both.
		return Code{Kind: config.KindVNeID, Identity: "vneid:" + s}
	case qrpayload.KindCCCDInvalid:
		return Code{Kind: config.KindUnreadable, Why: "damaged ID card QR"}
	}
	return Code{Kind: config.KindUnreadable, Why: "not a code the gate knows (" + string(p.Kind) + ")"}
}
