package checkin

// ScanAttrs are the attributes of every scan event (checkin.qr, checkin.vneid,
// scan.dossier, scan.unknown, scan.rejected, and scan.gate, which the gate records
// itself). Their JSON names are the keys the flow has always written. A card's ID
// number is only a keyed hash here; the payload and the holder's fields never are.
type ScanAttrs struct {
	Scanner string `json:"scanner"`
	Purpose string `json:"purpose"`
	Bytes   int    `json:"bytes"`
	ByIdle  bool   `json:"by_idle,omitempty"` // the scan ended by the scanner's pause, not its suffix
	QRKind  string `json:"qr_kind"`
	Outcome string `json:"outcome"`
	// Reason names why an unreadable scan was refused (scan.rejected).
	Reason string `json:"reason,omitempty"`
	// IDHash is the keyed hash of a chip card QR's ID number; CodeHash of a VNeID code.
	IDHash   string `json:"id_hash,omitempty"`
	CodeHash string `json:"code_hash,omitempty"`
	// Problem says what made a card QR invalid.
	Problem string `json:"problem,omitempty"`
	// Dossier is a receipt's dossier code; DossierProblem why the receipt did not count.
	Dossier        string `json:"dossier,omitempty"`
	DossierProblem string `json:"dossier_problem,omitempty"`
}
