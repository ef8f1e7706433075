package queue

// The attributes of the queue's events in the record, one struct per kind. Their JSON
// names are the keys the queue has always written, so a record kept by an older agent
// rebuilds the same day. Nothing here is personal: a ticket is a number, an officer a
// staff id from the settings.

// TicketAttrs is what every event about one ticket carries (called, recalled,
// started, cancelled, and the head of the others).
type TicketAttrs struct {
	Number int `json:"number"`
	// Staff is the officer signed in at the counter that made the change (staff id);
	// empty when nobody was.
	Staff string `json:"staff,omitempty"`
}

func (a *TicketAttrs) ticket() *TicketAttrs { return a }

// ticketEvent is any of the structs below: the queue fills in the number and the
// officer for all of them in one place (commit, change).
type ticketEvent interface{ ticket() *TicketAttrs }

// IssuedAttrs are KindIssued's.
type IssuedAttrs struct {
	TicketAttrs
	Priority bool `json:"priority"`
}

// ClosedAttrs are KindFinished's and KindNoShow's.
type ClosedAttrs struct {
	TicketAttrs
	// By is "next" when the counter's next call (or pause) closed the ticket.
	By string `json:"by,omitempty"`
}

// TransferredAttrs are KindTransferred's.
type TransferredAttrs struct {
	TicketAttrs
	ToService   string `json:"to_service"`
	ToCounter   string `json:"to_counter"` // "" when any counter of ToService may call it
	FromService string `json:"from_service"`
}

// RatedAttrs are KindRated's. Staff is the officer who finished the ticket.
type RatedAttrs struct {
	TicketAttrs
	Level   int      `json:"level"`
	Channel string   `json:"channel"`
	Reasons []string `json:"reasons"`
}

// SignInAttrs are KindSignedIn's and KindSignedOut's (Staff only).
type SignInAttrs struct {
	Staff string `json:"staff"`
	// How the officer signed in ("pin", "card"), and who was signed in there before.
	How      string `json:"how,omitempty"`
	Replaced string `json:"replaced,omitempty"`
}

// Kinds of the kiosk's printer: a slip printed again, a slip the printer refused.
const (
	KindReprinted   = "queue.ticket.reprinted"
	KindPrintFailed = "queue.ticket.print_failed"
)

// PrintAttrs are KindReprinted's and KindPrintFailed's.
type PrintAttrs struct {
	Number  int  `json:"number"`
	Printed bool `json:"printed"`
	// Error is the printer's fault (a device message, never personal).
	Error string `json:"error,omitempty"`
}

// AlertAttrs are KindAlert's.
type AlertAttrs struct {
	Message string `json:"message"`
}
