package gate

// The attributes of the gate's events in the record, one struct per kind. Their JSON
// names are the keys the gate has always written, so an older record replays the same
// occupancy. A visitor is a keyed hash of the code, never the code or a name.

// EntryAttrs are KindEntry's.
type EntryAttrs struct {
	Lane    string `json:"lane"`
	Kind    string `json:"kind"`    // the kind of code scanned
	Visitor string `json:"visitor"` // keyed hash of the code
}

// ExitAttrs are KindExit's. Matched says the visitor was inside (EntryLane is where
// they came in).
type ExitAttrs struct {
	Lane      string `json:"lane"`
	Kind      string `json:"kind"`
	Visitor   string `json:"visitor"`
	Matched   bool   `json:"matched"`
	EntryLane string `json:"entry_lane"`
}

// RefusedAttrs are KindRefused's.
type RefusedAttrs struct {
	Lane   string `json:"lane"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// VoidedAttrs are KindVoided's: the allowed passage of event Voids that the lane's
// relay never let through.
type VoidedAttrs struct {
	Lane      string `json:"lane"`
	Visitor   string `json:"visitor"`
	Direction string `json:"direction"`
	EntryLane string `json:"entry_lane"`
	Voids     int64  `json:"voids"`
	Reason    string `json:"reason"`
}

// ManualOpenAttrs are KindManualOpen's: who on the staff opened the lane, and why.
type ManualOpenAttrs struct {
	Lane string `json:"lane"`
	Who  string `json:"who"`
	Why  string `json:"why"`
}

// SiteStateAttrs are KindSiteState's.
type SiteStateAttrs struct {
	State string `json:"state"`
	Who   string `json:"who"`
	Why   string `json:"why"`
}

// ReconciledAttrs are KindReconciled's: how many were still inside at closing, the
// site's state for the next day, and when it ran (RFC 3339, UTC).
type ReconciledAttrs struct {
	Closed    int    `json:"closed"`
	SiteState string `json:"site_state"`
	At        string `json:"at"`
}
