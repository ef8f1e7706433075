// Package vcard is the card side of a virtual ICAO 9303 chip: it answers
// command APDUs the way an eMRTD chip does (BAC, PACE with CAN, secure
// messaging, READ BINARY, active and chip authentication), with faults on
// demand for tests. It also builds the files and the test PKI of fictional
// test cards.
//
// It must never be used as a real document, never hold real people's data,
// and never panic on any command bytes.
package vcard

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/internal/curve"
	"motcua-agent/drivers/emrtd/internal/sm"
)

// Profile describes one virtual chip.
type Profile struct {
	// Files by file identifier (emrtd.FileCOM, emrtd.DataGroupFile(1), ...,
	// emrtd.FileSOD, emrtd.FileCardAccess). EF.CardAccess lives in the MF,
	// the others in the LDS1 applet.
	Files map[uint16][]byte
	// BAC key material (the MRZ information). Empty DocumentNumber turns BAC off.
	DocumentNumber string
	DateOfBirth    string // YYMMDD
	DateOfExpiry   string // YYMMDD
	// CAN for PACE; PACE also needs EF.CardAccess declaring it (see
	// BuildCardAccess). PACE with the MRZ works when the MRZ fields are set.
	CAN string
	// ActiveAuthKey signs INTERNAL AUTHENTICATE: *rsa.PrivateKey (ISO 9796-2
	// scheme 1, SHA-1), *ecdsa.PrivateKey or *ECPrivateKey (plain ECDSA with
	// ActiveAuthHash); nil means no AA.
	ActiveAuthKey  crypto.Signer
	ActiveAuthHash crypto.Hash // default SHA-256
	// ChipAuthKey is the chip authentication key pair (its public key in
	// DG14); nil means no CA.
	ChipAuthKey *ECPrivateKey
	// MaxLe caps the data in one READ BINARY answer (default 256; larger
	// values need ExtendedLength).
	MaxLe int
	// ExtendedLength lets the card accept extended-length APDUs.
	ExtendedLength bool
	// AllowPlainAccess lets files be read without secure messaging.
	AllowPlainAccess bool
	// Random is the card's randomness (crypto/rand when nil).
	Random io.Reader
	Faults Faults
}

// Faults are misbehaviours on demand.
type Faults struct {
	// BadResponseMACAt corrupts the MAC of the n-th secure messaging response
	// (1-based, counted since New or Reset); 0 means never.
	BadResponseMACAt int
	// BadMACFile corrupts the MAC of the first READ BINARY response for
	// that file identifier; 0 means never.
	BadMACFile uint16
	// TruncateFile serves each listed file cut to that many bytes (its TLV
	// header still claims the full length).
	TruncateFile map[uint16]int
	// MalformFile replaces the value of each listed file with bytes that
	// are not valid BER-TLV (same length, so the header still parses).
	MalformFile map[uint16]bool
	// StatusWords answer matching commands with a status word.
	StatusWords []StatusFault
	// Delay is slept before every answer (a contactless link's latency).
	Delay time.Duration
	// LinkBytesPerSecond, when > 0, also sleeps the time the command and
	// response bytes take on a link of that rate (106 kbit/s is 13250).
	LinkBytesPerSecond int
	// PullOutAfter makes the card vanish after that many APDUs: Process then
	// returns nil for every command until Reset. 0 means never.
	PullOutAfter int
}

// StatusFault answers a command whose INS matches (and, when FileID is not
// 0, that selects or reads that file) with SW: once, or every time when
// Repeat is set.
type StatusFault struct {
	INS    byte
	FileID uint16
	SW     uint16
	Repeat bool
}

// Card is one virtual chip. Process is safe for concurrent use (commands are
// serialised).
type Card struct {
	mu      sync.Mutex
	profile Profile
	random  io.Reader

	apdus      int
	busy       time.Duration // time spent answering, delays excluded
	smReplies  int
	pulled     bool
	appletSel  bool
	current    uint16
	session    *sm.Session
	rndIC      []byte
	pace       *paceState
	caProtocol string
	usedFaults map[int]bool
}

// New returns a card for the profile.
func New(p Profile) (*Card, error) {
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("vcard: profile has no files")
	}
	if p.MaxLe <= 0 {
		p.MaxLe = 256
	}
	if p.MaxLe > 256 && !p.ExtendedLength {
		return nil, fmt.Errorf("vcard: MaxLe %d needs ExtendedLength", p.MaxLe)
	}
	if k := p.ChipAuthKey; k != nil && (curve.ByName(k.Curve) == nil || k.D == nil || k.D.Sign() <= 0) {
		return nil, fmt.Errorf("vcard: chip authentication key on unknown curve %q or empty", k.Curve)
	}
	if k, ok := p.ActiveAuthKey.(*ECPrivateKey); ok && (curve.ByName(k.Curve) == nil || k.D == nil || k.D.Sign() <= 0) {
		return nil, fmt.Errorf("vcard: active authentication key on unknown curve %q or empty", k.Curve)
	}
	if p.ActiveAuthHash == 0 {
		p.ActiveAuthHash = crypto.SHA256
	}
	files := make(map[uint16][]byte, len(p.Files))
	for fid, b := range p.Files {
		files[fid] = b
	}
	for fid, n := range p.Faults.TruncateFile {
		if b, ok := files[fid]; ok && n >= 0 && n < len(b) {
			files[fid] = b[:n]
		}
	}
	for fid, on := range p.Faults.MalformFile {
		if b, ok := files[fid]; ok && on {
			files[fid] = malformed(b)
		}
	}
	p.Files = files
	c := &Card{profile: p, random: p.Random}
	if c.random == nil {
		c.random = rand.Reader
	}
	c.Reset()
	return c, nil
}

// atr is a contactless-style ATR (PC/SC part 3) with a valid TCK.
var atr = func() []byte {
	b := []byte{0x3B, 0x88, 0x80, 0x01, 'M', 'O', 'T', 'C', 'U', 'A', 'V', 'C'}
	var tck byte
	for _, x := range b[1:] {
		tck ^= x
	}
	return append(b, tck)
}()

// ATR returns the card's answer to reset.
func (c *Card) ATR() []byte { return append([]byte(nil), atr...) }

// Reset is a power cycle: it ends any session and puts a pulled card back.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apdus, c.smReplies = 0, 0
	c.pulled = false
	c.appletSel = false
	c.current = 0
	c.session = nil
	c.rndIC = nil
	c.pace = nil
	c.caProtocol = ""
	c.usedFaults = map[int]bool{}
}

// SetFaults replaces the card's faults (for tests that change them between
// reads).
func (c *Card) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.profile.Faults = f
	c.usedFaults = map[int]bool{}
}

// Busy returns the time the card spent computing answers since New (not
// reset by Reset), without the configured delays: benchmarks subtract it to
// get the terminal's own cost.
func (c *Card) Busy() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// APDUs returns the number of commands processed since New or Reset.
func (c *Card) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

func sw(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// Process answers one command APDU. It returns nil when the card has been
// "pulled out" (see Faults.PullOutAfter): the transport must then report the
// card as gone.
func (c *Card) Process(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pulled {
		return nil
	}
	c.apdus++
	if n := c.profile.Faults.PullOutAfter; n > 0 && c.apdus > n {
		c.pulled = true
		return nil
	}
	if d := c.profile.Faults.Delay; d > 0 {
		time.Sleep(d)
	}
	start := time.Now()
	resp := c.answer(apdu)
	c.busy += time.Since(start)
	if rate := c.profile.Faults.LinkBytesPerSecond; rate > 0 {
		time.Sleep(time.Duration(len(apdu)+len(resp)) * time.Second / time.Duration(rate))
	}
	return resp
}

func (c *Card) answer(apdu []byte) []byte {
	if len(apdu) < 4 {
		return sw(0x6700)
	}
	if apdu[0]&0x0C == 0x0C {
		return c.processProtected(apdu)
	}
	cmd, err := sm.ParseCommand(apdu)
	if err != nil {
		return sw(0x6700)
	}
	if c.session != nil {
		// A plain command ends secure messaging (9303-11 §9.8).
		c.session = nil
	}
	data, status := c.dispatch(cmd, false)
	return append(data, sw(status)...)
}

func (c *Card) processProtected(apdu []byte) []byte {
	if c.session == nil {
		return sw(0x6987)
	}
	cmd, err := c.session.UnprotectCommand(apdu)
	if err != nil {
		c.session = nil
		return sw(0x6988)
	}
	if cmd.Extended && !c.profile.ExtendedLength {
		return c.protect(cmd.INS, nil, 0x6700)
	}
	session := c.session
	data, status := c.dispatch(cmd, true)
	if f := c.profile.Faults.BadMACFile; f != 0 && cmd.INS == 0xB0 && c.current == f && !c.usedFaults[-1] && c.session != nil {
		c.usedFaults[-1] = true
		out := c.protect(cmd.INS, data, status)
		out[len(out)-3] ^= 0x01
		return out
	}
	if c.session != session && c.session != nil && session != nil {
		// Chip authentication replaced the keys: answer under the old ones.
		next := c.session
		c.session = session
		out := c.protect(cmd.INS, data, status)
		c.session = next
		return out
	}
	if c.session == nil {
		return sw(status)
	}
	return c.protect(cmd.INS, data, status)
}

func (c *Card) protect(ins byte, data []byte, status uint16) []byte {
	c.smReplies++
	out := c.session.ProtectResponseTo(ins, data, status)
	if c.smReplies == c.profile.Faults.BadResponseMACAt {
		out[len(out)-3] ^= 0x01 // last MAC byte, before SW1 SW2
	}
	return out
}

// statusFault returns the status word a fault rule forces, or 0.
func (c *Card) statusFault(cmd sm.Command, fid uint16) uint16 {
	for i, f := range c.profile.Faults.StatusWords {
		if f.INS != cmd.INS || (f.FileID != 0 && f.FileID != fid) || (!f.Repeat && c.usedFaults[i]) {
			continue
		}
		c.usedFaults[i] = true
		return f.SW
	}
	return 0
}

func (c *Card) dispatch(cmd sm.Command, protected bool) ([]byte, uint16) {
	fid := c.current
	if cmd.INS == 0xA4 {
		fid = 0 // a SELECT by name addresses no file
		if len(cmd.Data) == 2 {
			fid = uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		}
	}
	if cmd.INS == 0xB0 && cmd.P1&0x80 != 0 {
		fid = 0x0100 | uint16(cmd.P1&0x1F)
	}
	if s := c.statusFault(cmd, fid); s != 0 {
		return nil, s
	}
	switch cmd.INS {
	case 0xA4:
		return c.selectFile(cmd, protected)
	case 0xB0:
		return c.readBinary(cmd, protected)
	case 0xB1:
		return c.readBinaryOdd(cmd, protected)
	case 0x84:
		return c.getChallenge(cmd)
	case 0x82:
		return c.externalAuthenticate(cmd)
	case 0x22:
		return c.manageSecurityEnvironment(cmd, protected)
	case 0x86:
		return c.generalAuthenticate(cmd, protected)
	case 0x88:
		return c.internalAuthenticate(cmd, protected)
	}
	return nil, 0x6D00
}

func (c *Card) selectFile(cmd sm.Command, protected bool) ([]byte, uint16) {
	switch cmd.P1 {
	case 0x04:
		if string(cmd.Data) != string(emrtd.AppletAID) {
			return nil, 0x6A82
		}
		c.appletSel, c.current = true, 0
		return nil, 0x9000
	case 0x00, 0x02:
		if len(cmd.Data) != 2 {
			return nil, 0x6700
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if fid == 0x3F00 {
			c.appletSel, c.current = false, 0
			return nil, 0x9000
		}
		if _, ok := c.profile.Files[fid]; !ok {
			return nil, 0x6A82
		}
		if fid == emrtd.FileCardAccess {
			c.current = fid
			return nil, 0x9000
		}
		if !c.appletSel {
			return nil, 0x6A82
		}
		if !protected && !c.profile.AllowPlainAccess {
			return nil, 0x6982
		}
		c.current = fid
		return nil, 0x9000
	}
	return nil, 0x6A86
}

// readBinaryOdd answers READ BINARY with odd INS: offset in DO54 (P1-P2
// zero: the current file), data in DO53 within Le.
func (c *Card) readBinaryOdd(cmd sm.Command, protected bool) ([]byte, uint16) {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, 0x6A86
	}
	t, err := emrtd.ParseSingleTLV(cmd.Data, 0x54)
	if err != nil || len(t.Value) == 0 || len(t.Value) > 3 {
		return nil, 0x6A80
	}
	offset := 0
	for _, b := range t.Value {
		offset = offset<<8 | int(b)
	}
	le := cmd.Le - 4
	if le < 1 {
		return nil, 0x6700
	}
	data, sw := c.readAt(sm.Command{INS: 0xB0, Le: le, Extended: cmd.Extended}, offset, protected)
	if data == nil {
		return nil, sw
	}
	return emrtd.EncodeTLV(0x53, data), sw
}

func (c *Card) readBinary(cmd sm.Command, protected bool) ([]byte, uint16) {
	offset := int(cmd.P1)<<8 | int(cmd.P2)
	if cmd.P1&0x80 != 0 {
		fid := 0x0100 | uint16(cmd.P1&0x1F)
		if _, ok := c.profile.Files[fid]; !ok {
			return nil, 0x6A82
		}
		c.current = fid
		offset = int(cmd.P2)
	}
	return c.readAt(cmd, offset, protected)
}

// readAt reads the current file at offset, honouring Le and MaxLe.
func (c *Card) readAt(cmd sm.Command, offset int, protected bool) ([]byte, uint16) {
	fid := c.current
	file, ok := c.profile.Files[fid]
	if !ok || fid == 0 {
		return nil, 0x6A82
	}
	if fid != emrtd.FileCardAccess && !protected && !c.profile.AllowPlainAccess {
		return nil, 0x6982
	}
	if cmd.Le < 0 {
		return nil, 0x6700
	}
	if cmd.Extended && !c.profile.ExtendedLength {
		return nil, 0x6700
	}
	if cmd.Le > c.profile.MaxLe {
		if !cmd.Extended && c.profile.MaxLe < 256 {
			return nil, 0x6C00 | uint16(c.profile.MaxLe)
		}
		return nil, 0x6700
	}
	if offset > len(file) || offset == len(file) && len(file) > 0 {
		return nil, 0x6B00
	}
	end := offset + cmd.Le
	if end > len(file) {
		return append([]byte(nil), file[offset:]...), 0x6282
	}
	return append([]byte(nil), file[offset:end]...), 0x9000
}

// ErrRemoved is returned by Transmit when the card has been pulled out.
var ErrRemoved = errors.New("vcard: card removed")

// Transmit makes the card an emrtd.Transmitter in process (no PC/SC): it
// calls Process and reports a pulled-out card as ErrRemoved.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := c.Process(apdu)
	if resp == nil {
		return nil, ErrRemoved
	}
	return resp, nil
}

// malformed keeps a file's outer tag and length and fills its value with a
// data object whose length field is impossible (five length bytes).
func malformed(b []byte) []byte {
	t, _, err := emrtd.ParseTLV(b)
	if err != nil || len(t.Value) < 8 {
		return append([]byte{0x7F}, b...)
	}
	out := append([]byte(nil), b[:len(b)-len(t.Value)]...)
	bad := make([]byte, len(t.Value))
	copy(bad, []byte{0x5F, 0x1F, 0x85, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	return append(out, bad...)
}
