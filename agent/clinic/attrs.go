package clinic

// The attributes of the clinic's events in the record, one struct per kind. Their JSON
// names are the keys the flow has always written, so an older record's waiting
// look-ups are still found and counted. No patient data: a look-up is its id, the
// station and the answer's code.

// QueuedAttrs are KindQueued's: a look-up waits for the gateway.
type QueuedAttrs struct {
	Lookup    string `json:"lookup"`
	Station   string `json:"station"`
	Source    string `json:"source"`
	Requested string `json:"requested"` // RFC 3339 with nanoseconds, UTC: the day it counts on
}

// LookupAttrs are KindLookup's: a look-up's end.
type LookupAttrs struct {
	Lookup   string `json:"lookup"`
	Station  string `json:"station"`
	Source   string `json:"source"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts,omitempty"`
	Queued   bool   `json:"queued"`
	// Operator is the gateway account the look-up used (a site's account name).
	Operator string `json:"operator,omitempty"`
	Wire     string `json:"wire"` // the gateway protocol's version
	// SuccessRule is the rule Outcome was judged by (RuleStrict, RuleOtherAgency).
	SuccessRule string `json:"success_rule,omitempty"`
	Code        string `json:"code,omitempty"` // the gateway's answer code
}
