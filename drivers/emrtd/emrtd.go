// Package emrtd is the terminal side of ICAO Doc 9303 machine readable travel
// documents (eMRTD, LDS1): access control (BAC, PACE), secure messaging, file
// reading, LDS parsing and passive, active and chip authentication.
//
// It is pure protocol code over a Transmitter; it must never import a PC/SC
// binding or talk to hardware itself, never trust a length or a byte from the
// card without a cap and a MAC check, and never log personal data.
package emrtd

import (
	"context"
	"strconv"
	"time"
)

// Transmitter sends one command APDU to a card and returns its response APDU
// (data followed by the two status bytes). Implementations must honour the
// context's deadline and return an error (never an empty response) when the
// card is gone.
type Transmitter interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// AppletAID is the ICAO LDS1 eMRTD application identifier.
var AppletAID = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}

// File identifiers of the LDS1 elementary files.
const (
	FileCardAccess uint16 = 0x011C // in the master file
	FileCOM        uint16 = 0x011E
	FileSOD        uint16 = 0x011D
)

// DataGroupFile returns the file identifier of data group n (1..16).
func DataGroupFile(n int) uint16 { return 0x0100 + uint16(n) }

// AccessKey is one candidate key for opening the chip: either the MRZ
// information (document number, date of birth, date of expiry, usable for BAC
// and PACE-MRZ) or a CAN (PACE only). Label names the candidate for the
// caller's records (for example "qr: expiry at 40th birthday").
type AccessKey struct {
	Label          string
	DocumentNumber string // as printed in the MRZ, without filler
	DateOfBirth    string // YYMMDD
	DateOfExpiry   string // YYMMDD
	CAN            string // card access number (digits)
}

// MRZKey returns an AccessKey from MRZ information.
func MRZKey(documentNumber, dateOfBirth, dateOfExpiry string) AccessKey {
	return AccessKey{DocumentNumber: documentNumber, DateOfBirth: dateOfBirth, DateOfExpiry: dateOfExpiry}
}

// CANKey returns an AccessKey holding a card access number.
func CANKey(can string) AccessKey { return AccessKey{CAN: can} }

// IsCAN reports whether the key is a CAN (PACE only).
func (k AccessKey) IsCAN() bool { return k.CAN != "" }

// Access methods as recorded in AccessResult.Method and AccessAttempt.Method.
const (
	MethodBAC     = "BAC"
	MethodPACECAN = "PACE-CAN"
	MethodPACEMRZ = "PACE-MRZ"
)

// ReadOptions says what Read tries and reads.
type ReadOptions struct {
	// Keys are tried in order (PACE first when EF.CardAccess offers it,
	// then BAC with the MRZ keys).
	Keys []AccessKey
	// DisablePACE skips PACE even when offered; DisableBAC skips BAC.
	DisablePACE bool
	DisableBAC  bool
	// DataGroups to read besides EF.COM and EF.SOD; nil means 1, 2, 13, 14, 15
	// (those of them that EF.COM lists).
	DataGroups []int
	// Trust holds the CSCA certificates for passive authentication; nil gives
	// "no anchor" for every document.
	Trust *TrustStore
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
	// ExtendedLength says the reader can carry extended-length APDUs; Read
	// then tries larger chunks if the card accepts them.
	ExtendedLength bool
	// FixedChunk, when > 0, reads every file in chunks of exactly this size
	// with no adaptation (a baseline for benchmarks).
	FixedChunk int
	// MaxFileSize caps any file (default 1 MiB); MaxPhotoFileSize caps DG2
	// (default 512 KiB).
	MaxFileSize      int
	MaxPhotoFileSize int
	// SkipActiveAuth and SkipChipAuth turn those steps off.
	SkipActiveAuth bool
	SkipChipAuth   bool
}

// CheckStatus is the outcome of one verification fact.
type CheckStatus string

const (
	CheckPassed  CheckStatus = "passed"
	CheckFailed  CheckStatus = "failed"  // the check ran and the card's data is wrong
	CheckError   CheckStatus = "error"   // the check could not run (unparseable data, card error)
	CheckAbsent  CheckStatus = "absent"  // the card does not offer it (no DG15, no DG14 CA info)
	CheckSkipped CheckStatus = "skipped" // the caller turned it off
	// CheckEncrypted: the card keeps the data under a key this reader does not have
	// (the 2024 card's protected data, Circular 16/2024/TT-BCA): not a fault of the
	// card, and not a failed check.
	CheckEncrypted CheckStatus = "encrypted"
)

// EncryptedDetail is the detail of a CheckEncrypted fact.
const EncryptedDetail = "encrypted, not readable by this reader"

// Check is one verification fact with the reason when it did not pass.
type Check struct {
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Err    error       `json:"-"`
}

// Passed reports whether the check passed.
func (c Check) Passed() bool { return c.Status == CheckPassed }

// ChainStatus is the outcome of the document-signer chain to the trust store.
type ChainStatus string

const (
	ChainTrusted   ChainStatus = "trusted"   // chains to a CSCA in the trust store, dates valid
	ChainUntrusted ChainStatus = "untrusted" // a CSCA with the issuer's name exists but the chain fails
	ChainNoAnchor  ChainStatus = "no anchor" // no CSCA with the issuer's name in the trust store
	ChainError     ChainStatus = "error"     // no SOD or no signer certificate to check
)

// AccessAttempt records one try of one key with one method.
type AccessAttempt struct {
	Method   string `json:"method"`
	KeyIndex int    `json:"key_index"`
	KeyLabel string `json:"key_label,omitempty"`
	Err      error  `json:"-"`
	Error    string `json:"error,omitempty"`
}

// AccessResult says how the chip was opened.
type AccessResult struct {
	Method   string          `json:"method"`    // MethodBAC, MethodPACECAN, MethodPACEMRZ
	KeyIndex int             `json:"key_index"` // index into ReadOptions.Keys
	KeyLabel string          `json:"key_label,omitempty"`
	PACE     *PACEInfo       `json:"pace,omitempty"` // the PACE parameters used
	Attempts []AccessAttempt `json:"attempts"`
}

// AccessDeniedError is returned by Read when no key opened the chip.
type AccessDeniedError struct {
	Attempts []AccessAttempt
}

func (e *AccessDeniedError) Error() string {
	s := "access denied: tried"
	if len(e.Attempts) == 0 {
		return s + " nothing (no usable key for the methods the card offers)"
	}
	for i, a := range e.Attempts {
		if i > 0 {
			s += ","
		}
		s += " " + a.Method + " with key " + strconv.Itoa(a.KeyIndex)
		if a.KeyLabel != "" {
			s += " (" + a.KeyLabel + ")"
		}
		if a.Error != "" {
			s += ": " + a.Error
		}
	}
	return s
}

// Is matches ErrAccessDenied.
func (e *AccessDeniedError) Is(target error) bool { return target == ErrAccessDenied }

// FileRead records the outcome of reading one file.
type FileRead struct {
	Name  string `json:"name"` // "COM", "SOD", "DG1", ...
	Size  int    `json:"size"`
	Check Check  `json:"check"` // passed: read; absent: not on the card; error: why not
}

// PassiveAuth holds the passive authentication facts, each on its own.
type PassiveAuth struct {
	// DataGroupHashes maps a data group number to the comparison of its hash
	// with the one in the SOD (failed: mismatch; absent: not in the SOD;
	// error: the group could not be read).
	DataGroupHashes map[int]Check `json:"data_group_hashes"`
	// Signature is the SOD signature by the document signer certificate.
	Signature Check `json:"signature"`
	// Chain is the document signer's chain to a CSCA in the trust store.
	Chain       ChainStatus `json:"chain"`
	ChainDetail string      `json:"chain_detail,omitempty"`
	// Signer is the document signer's subject (a distinguished name).
	Signer string `json:"signer,omitempty"`
	// HashAlgorithm is the LDS security object's hash algorithm name.
	HashAlgorithm string `json:"hash_algorithm,omitempty"`
	// Encrypted lists the data groups the SOD covers that the card would not give
	// this reader (see CheckEncrypted); their hashes cannot be compared and are not
	// in DataGroupHashes.
	Encrypted []int `json:"encrypted,omitempty"`
}

// StepTiming is the wall time one step of Read took.
type StepTiming struct {
	Step     string        `json:"step"`
	Duration time.Duration `json:"duration_ns"`
}

// Counters count the traffic of one read.
type Counters struct {
	APDUs         int `json:"apdus"`
	BytesSent     int `json:"bytes_sent"`
	BytesReceived int `json:"bytes_received"`
}

// Document is everything Read learned about a chip. Every optional step's
// outcome is a fact here; Read returns an error only when the chip could not
// be opened or the transport failed.
type Document struct {
	Access AccessResult `json:"access"`

	COM  *COM                 `json:"com,omitempty"`
	DG1  *MRZ                 `json:"dg1,omitempty"`
	DG2  *DG2                 `json:"-"`
	DG14 *SecurityInfos       `json:"-"`
	DG15 *ActiveAuthPublicKey `json:"-"`
	SOD  *SOD                 `json:"-"`

	// Raw holds the raw bytes of every file read, by name ("COM", "SOD",
	// "DG1", "DG13", ...). DG13 is left raw for the caller to parse.
	Raw map[string][]byte `json:"-"`
	// Files lists the outcome of each file read, in order.
	Files []FileRead `json:"files"`

	PassiveAuth PassiveAuth `json:"passive_auth"`
	ActiveAuth  Check       `json:"active_auth"`
	ChipAuth    Check       `json:"chip_auth"`

	Timings  []StepTiming `json:"timings"`
	Counters Counters     `json:"counters"`
}

// Genuine reports whether every check a genuine chip passes did pass: all
// data-group hashes read match, the SOD signature is valid, the chain is
// trusted, and AA and CA passed unless absent or skipped.
func (d *Document) Genuine() bool {
	if d == nil || d.SOD == nil || len(d.PassiveAuth.DataGroupHashes) == 0 {
		return false
	}
	for _, c := range d.PassiveAuth.DataGroupHashes {
		if c.Status != CheckPassed {
			return false
		}
	}
	if !d.PassiveAuth.Signature.Passed() || d.PassiveAuth.Chain != ChainTrusted {
		return false
	}
	for _, c := range []Check{d.ActiveAuth, d.ChipAuth} {
		if c.Status != CheckPassed && c.Status != CheckAbsent && c.Status != CheckSkipped {
			return false
		}
	}
	return true
}
