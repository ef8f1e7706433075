package dossier

// The attributes of the dossier flow's events in the record, one struct per kind.
// Their JSON names are the keys the flow has always written. A dossier code is the
// office's reference, never a citizen's ID number (those are refused, not recorded).

// Event kinds.
const (
	KindReceived      = "dossier.received"
	KindDigitized     = "dossier.digitized"
	KindPageUnmatched = "dossier.page.unmatched"
)

// DossierAttrs are KindReceived's.
type DossierAttrs struct {
	Dossier string `json:"dossier"`
	Source  string `json:"source"` // scan, api, folder
	// Unit and ReceivedOn are read from a code of the official shape: the receiving
	// unit and the day it received the dossier (YYYY-MM-DD).
	Unit       string `json:"unit,omitempty"`
	ReceivedOn string `json:"received_on,omitempty"`
}

// DigitizedAttrs are KindDigitized's.
type DigitizedAttrs struct {
	DossierAttrs
	Pages int `json:"pages"`
	Files int `json:"files"`
}

// PageUnmatchedAttrs are KindPageUnmatched's: a scanned page with no receipt code to
// file it under.
type PageUnmatchedAttrs struct {
	Page         string `json:"page"` // the page's reference, never its file name
	Ext          string `json:"ext"`
	Codes        int    `json:"codes"`
	RefusedCodes int    `json:"refused_codes,omitempty"`
	Error        string `json:"error,omitempty"` // with file names replaced by the reference
}
