package identity

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/pcsc"
)

// Outcomes of a verification.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// Failure reasons, the dimension the counters split failed verifications by.
const (
	ReasonAccessDenied = "access-denied" // no key opened the chip
	ReasonHashMismatch = "hash-mismatch" // a data group does not match the SOD
	ReasonSignature    = "signature"     // the SOD signature does not verify
	ReasonUntrusted    = "untrusted"     // the signer does not chain to a trusted CSCA
	ReasonNoAnchor     = "no-anchor"     // no CSCA for the signer's issuer in the trust store
	ReasonChipAuth     = "chip-auth"     // active or chip authentication failed (possible clone)
	ReasonQRMismatch   = "qr-mismatch"   // the QR and the chip disagree
	ReasonCardRemoved  = "card-removed"  // the card left the reader mid-read
	ReasonTimeout      = "timeout"       // the card stopped answering
	ReasonReadError    = "read-error"    // any other failure to read
	ReasonNoReader     = "no-reader"     // the reader or the PC/SC service is missing
)

// ReadRequest says which card to read and how to open it.
type ReadRequest struct {
	Reader string
	// Keys are tried in order; cccd.KeysFromQR / KeysFromID build them.
	Keys []emrtd.AccessKey
	// QR, when the keys came from a scanned QR, is compared with the chip.
	QR *cccd.QR
	// Trust holds the CSCAs; nil reports every card as "no anchor".
	Trust *emrtd.TrustStore
	// Timeout bounds the whole read (default 20 s).
	Timeout time.Duration
	// Now is the clock for certificate validity (default time.Now).
	Now func() time.Time
	// SkipPhoto leaves DG2 unread (faster, when no one will see the photo).
	SkipPhoto bool
	// FixedChunk, when > 0, reads files in chunks of exactly this size (the baseline
	// the benchmark compares adaptive reading with).
	FixedChunk int
}

// Verification is the outcome of reading one card: each check as its own fact, the
// timings, and the holder's data (personal: kept apart so callers can drop it).
type Verification struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	Reader  string `json:"reader"`

	Access *emrtd.AccessResult `json:"access,omitempty"`
	Checks Checks              `json:"checks"`
	Files  []emrtd.FileRead    `json:"files,omitempty"`
	Photo  *PhotoInfo          `json:"photo,omitempty"`

	APDUs         int                `json:"apdus"`
	BytesSent     int                `json:"bytes_sent"`
	BytesReceived int                `json:"bytes_received"`
	Elapsed       time.Duration      `json:"elapsed_ns"`
	Timings       []emrtd.StepTiming `json:"timings,omitempty"`

	// Holder is personal data: never logged, stored only where the config allows.
	Holder *Holder `json:"holder,omitempty"`
	// PhotoJPEG is the portrait (personal, sensitive).
	PhotoJPEG []byte `json:"-"`
}

// Checks are the verification facts.
type Checks struct {
	// DataGroupHashes: "DG1": "passed", ... (failed means the data was altered).
	DataGroupHashes map[string]string `json:"data_group_hashes"`
	Signature       emrtd.Check       `json:"sod_signature"`
	Chain           emrtd.ChainStatus `json:"chain"`
	ChainDetail     string            `json:"chain_detail,omitempty"`
	ActiveAuth      emrtd.Check       `json:"active_auth"`
	ChipAuth        emrtd.Check       `json:"chip_auth"`
	// DG13 is "passed" when the Vietnamese data group parsed, "error" with the
	// reason when it did not, "absent" when the card has none.
	DG13 emrtd.Check `json:"dg13"`
	// QR compares the scanned QR with DG13: "passed", "failed" (Detail names the
	// fields, never their values), "skipped" without a QR.
	QR emrtd.Check `json:"qr_agreement"`
}

// PhotoInfo describes the portrait without its pixels.
type PhotoInfo struct {
	Format string `json:"format"`
	Bytes  int    `json:"bytes"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Holder is what the chip says about its holder.
type Holder struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	NameMRZ     string `json:"name_mrz,omitempty"`
	Birth       string `json:"birth,omitempty"`
	Sex         string `json:"sex,omitempty"`
	Nationality string `json:"nationality,omitempty"`
	Ethnicity   string `json:"ethnicity,omitempty"`
	Religion    string `json:"religion,omitempty"`
	Origin      string `json:"origin,omitempty"`
	Residence   string `json:"residence,omitempty"`
	Marks       string `json:"marks,omitempty"`
	Issued      string `json:"issued,omitempty"`
	Expiry      string `json:"expiry,omitempty"`
	Father      string `json:"father,omitempty"`
	Mother      string `json:"mother,omitempty"`
	Spouse      string `json:"spouse,omitempty"`
	OldID       string `json:"old_id,omitempty"`
	// DocumentNumber and MRZ dates from DG1.
	DocumentNumber string `json:"document_number,omitempty"`
	MRZBirth       string `json:"mrz_birth,omitempty"`
	MRZExpiry      string `json:"mrz_expiry,omitempty"`
}

// AgeBand gives the holder's age band on the day now ("0-13", "14-24", "25-39",
// "40-59", "60+"), or "" when the birth date is unknown: enough for statistics,
// not enough to identify anyone.
func (h *Holder) AgeBand(now time.Time) string {
	if h == nil {
		return ""
	}
	b, err := cccd.ParseSlashDate(h.Birth)
	if err != nil {
		return ""
	}
	age := now.Year() - b.Year
	if now.Month() < b.Month || (now.Month() == b.Month && now.Day() < b.Day) {
		age--
	}
	switch {
	case age < 14:
		return "0-13"
	case age < 25:
		return "14-24"
	case age < 40:
		return "25-39"
	case age < 60:
		return "40-59"
	}
	return "60+"
}

// ReadCard connects to the card in req.Reader, reads and verifies it. It returns a
// Verification in every case where a card was there to talk to (failed ones carry
// the reason); the error is for a missing reader or service.
func ReadCard(ctx context.Context, req ReadRequest) (*Verification, error) {
	if req.Timeout <= 0 {
		req.Timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	start := time.Now()
	card, err := pcsc.Connect(ctx, req.Reader)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	ext, _ := card.ExtendedLength()
	v := Verify(ctx, card, req, ext)
	v.Elapsed = time.Since(start)
	return v, nil
}

// Verify reads and verifies the card behind t (see ReadCard).
func Verify(ctx context.Context, t emrtd.Transmitter, req ReadRequest, extendedLength bool) *Verification {
	v := &Verification{Reader: req.Reader}
	opts := emrtd.ReadOptions{Keys: req.Keys, Trust: req.Trust, Now: req.Now, ExtendedLength: extendedLength, FixedChunk: req.FixedChunk}
	if req.SkipPhoto {
		opts.DataGroups = []int{1, 13, 14, 15}
	}
	doc, err := emrtd.Read(ctx, t, opts)
	if doc != nil {
		v.APDUs, v.BytesSent, v.BytesReceived = doc.Counters.APDUs, doc.Counters.BytesSent, doc.Counters.BytesReceived
		v.Timings = doc.Timings
	}
	if err != nil {
		v.Outcome, v.Reason, v.Error = OutcomeFailed, readFailure(ctx, err), err.Error()
		var denied *emrtd.AccessDeniedError
		if errors.As(err, &denied) {
			v.Access = &emrtd.AccessResult{Attempts: denied.Attempts}
		}
		return v
	}
	v.Access = &doc.Access
	v.Files = doc.Files
	v.Checks = checksOf(doc)
	v.Holder = holderOf(doc, &v.Checks)
	if doc.DG2 != nil {
		v.Photo = &PhotoInfo{Format: doc.DG2.Format, Bytes: len(doc.DG2.Image), Width: doc.DG2.Width, Height: doc.DG2.Height}
		v.PhotoJPEG = doc.DG2.Image
	}
	v.Checks.QR = emrtd.Check{Status: emrtd.CheckSkipped, Detail: "no QR scanned"}
	if req.QR != nil {
		v.Checks.QR = compareQR(*req.QR, doc)
	}
	v.Outcome, v.Reason = judge(v.Checks)
	if v.Outcome != OutcomeOK {
		v.Error = failureDetail(v)
	}
	return v
}

// failureDetail says, in a line, which fact failed: a file that could not be read,
// else the check behind the reason.
func failureDetail(v *Verification) string {
	for _, f := range v.Files {
		if f.Check.Status == emrtd.CheckError {
			return "read " + f.Name + ": " + f.Check.Detail
		}
	}
	c := v.Checks
	switch v.Reason {
	case ReasonSignature:
		return "SOD signature: " + c.Signature.Detail
	case ReasonChipAuth:
		if c.ChipAuth.Status != emrtd.CheckPassed && c.ChipAuth.Status != emrtd.CheckAbsent {
			return "chip authentication: " + c.ChipAuth.Detail
		}
		return "active authentication: " + c.ActiveAuth.Detail
	case ReasonNoAnchor, ReasonUntrusted:
		return "chain: " + c.ChainDetail
	case ReasonQRMismatch:
		return "QR vs chip: " + c.QR.Detail
	}
	var bad []string
	for dg, s := range c.DataGroupHashes {
		if s != string(emrtd.CheckPassed) {
			bad = append(bad, dg+" "+s)
		}
	}
	sort.Strings(bad)
	return "data group hashes: " + strings.Join(bad, ", ")
}

// readFailure names why Read stopped.
func readFailure(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, emrtd.ErrAccessDenied):
		return ReasonAccessDenied
	case errors.Is(err, pcsc.ErrCardRemoved), errors.Is(err, pcsc.ErrClosed):
		return ReasonCardRemoved
	case errors.Is(err, pcsc.ErrTimeout), errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return ReasonTimeout
	case errors.Is(err, pcsc.ErrNoReader), errors.Is(err, pcsc.ErrNoService):
		return ReasonNoReader
	}
	return ReasonReadError
}

func checksOf(doc *emrtd.Document) Checks {
	pa := doc.PassiveAuth
	c := Checks{DataGroupHashes: map[string]string{}, Signature: pa.Signature, Chain: pa.Chain, ChainDetail: pa.ChainDetail,
		ActiveAuth: doc.ActiveAuth, ChipAuth: doc.ChipAuth}
	for n, chk := range pa.DataGroupHashes {
		c.DataGroupHashes["DG"+strconv.Itoa(n)] = string(chk.Status)
	}
	return c
}

func holderOf(doc *emrtd.Document, c *Checks) *Holder {
	h := &Holder{}
	if m := doc.DG1; m != nil {
		h.DocumentNumber, h.MRZBirth, h.MRZExpiry = m.DocumentNumber, m.DateOfBirth, m.DateOfExpiry
		h.NameMRZ = m.PrimaryName
		if m.SecondaryName != "" {
			h.NameMRZ += " " + m.SecondaryName
		}
		if id, err := cccd.IDFromMRZ(m); err == nil {
			h.ID = id
		}
	}
	d, chk := cccd.DG13Of(doc) // encrypted on a 2024 card: said so, not failed
	c.DG13 = chk
	if chk.Status != emrtd.CheckPassed {
		return h
	}
	if h.ID != "" && d.ID != "" && h.ID != d.ID {
		c.DG13 = emrtd.Check{Status: emrtd.CheckFailed, Detail: "DG13 ID differs from the MRZ"}
	}
	if d.ID != "" {
		h.ID = d.ID
	}
	h.Name, h.Birth, h.Sex, h.Nationality, h.Ethnicity, h.Religion = d.Name, d.Birth, d.Sex, d.Nationality, d.Ethnicity, d.Religion
	h.Origin, h.Residence, h.Marks, h.Issued, h.Expiry = d.Origin, d.Residence, d.Marks, d.Issued, d.Expiry
	h.Father, h.Mother, h.Spouse, h.OldID = d.Father, d.Mother, d.Spouse, d.OldID
	return h
}

func compareQR(q cccd.QR, doc *emrtd.Document) emrtd.Check {
	d, chk := cccd.DG13Of(doc)
	switch chk.Status {
	case emrtd.CheckEncrypted:
		return emrtd.Check{Status: emrtd.CheckSkipped, Detail: "DG13 " + emrtd.EncryptedDetail}
	case emrtd.CheckAbsent:
		return emrtd.Check{Status: emrtd.CheckError, Detail: "the card has no DG13 to compare the QR with"}
	case emrtd.CheckError:
		return emrtd.Check{Status: emrtd.CheckError, Detail: "DG13 unreadable: " + chk.Detail}
	}
	a := cccd.CompareQR(q, d)
	if a.OK() {
		return emrtd.Check{Status: emrtd.CheckPassed, Detail: fmt.Sprintf("%d fields agree", len(a.Compared))}
	}
	if len(a.Mismatched) == 0 {
		return emrtd.Check{Status: emrtd.CheckError, Detail: "the ID could not be compared"}
	}
	sort.Strings(a.Mismatched)
	return emrtd.Check{Status: emrtd.CheckFailed, Detail: fmt.Sprintf("differ: %v", a.Mismatched)}
}

// judge turns the checks into an outcome and the first failure reason, in order of
// severity. A missing anchor fails the verification (the card cannot be called
// genuine), but it is reported as its own reason so the site can install the CSCA.
func judge(c Checks) (string, string) {
	for _, s := range c.DataGroupHashes {
		if s != string(emrtd.CheckPassed) {
			return OutcomeFailed, ReasonHashMismatch
		}
	}
	if len(c.DataGroupHashes) == 0 {
		// No hash could be compared: the SOD itself was not read.
		return OutcomeFailed, ReasonReadError
	}
	if !c.Signature.Passed() {
		return OutcomeFailed, ReasonSignature
	}
	for _, chk := range []emrtd.Check{c.ActiveAuth, c.ChipAuth} {
		if chk.Status == emrtd.CheckFailed || chk.Status == emrtd.CheckError {
			return OutcomeFailed, ReasonChipAuth
		}
	}
	switch c.Chain {
	case emrtd.ChainTrusted:
	case emrtd.ChainNoAnchor:
		return OutcomeFailed, ReasonNoAnchor
	default:
		return OutcomeFailed, ReasonUntrusted
	}
	if c.QR.Status == emrtd.CheckFailed {
		return OutcomeFailed, ReasonQRMismatch
	}
	return OutcomeOK, ""
}
