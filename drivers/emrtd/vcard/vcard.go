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
	"crypto"
	"fmt"
	"sync"
	"time"
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
	// CAN for PACE (with EF.CardAccess declaring PACE); empty turns PACE-CAN off.
	CAN string
	// ActiveAuthKey signs INTERNAL AUTHENTICATE (*ecdsa.PrivateKey, *rsa.PrivateKey
	// or *ECPrivateKey for brainpool); nil means no AA.
	ActiveAuthKey crypto.Signer
	// ChipAuthKey is the chip authentication key pair (its public key in
	// DG14); nil means no CA.
	ChipAuthKey *ECPrivateKey
	// MaxLe caps the data in one READ BINARY answer (default 256 for short
	// APDUs; up to 65536 with ExtendedLength).
	MaxLe int
	// ExtendedLength lets the card accept extended-length READ BINARY.
	ExtendedLength bool
	// RequireSM denies file access outside secure messaging once the applet
	// is selected (default true; set AllowPlainAccess to turn off).
	AllowPlainAccess bool
	Faults           Faults
}

// Faults are misbehaviours on demand.
type Faults struct {
	// BadResponseMACAt corrupts the MAC of the n-th secure messaging response
	// (1-based, counted from the card's creation or Reset); 0 means never.
	BadResponseMACAt int
	// StatusWords answers a command whose INS (and, when P1P2 is not -1,
	// P1P2; for SELECT by file the FID) matches with the status word, once
	// per rule unless Repeat is set.
	StatusWords []StatusFault
	// Delay is slept before every answer (a contactless link's latency).
	Delay time.Duration
	// PullOutAfter makes the card vanish after that many APDUs: Process then
	// returns nil for every command until Reset. 0 means never.
	PullOutAfter int
}

// StatusFault answers matching commands with SW.
type StatusFault struct {
	INS    byte
	FileID uint16 // for SELECT or READ BINARY: the file selected; 0 = any
	SW     uint16
	Repeat bool
	used   bool
}

// Card is one virtual chip. Process is safe for concurrent use (commands are
// serialised).
type Card struct {
	mu      sync.Mutex
	profile Profile
	apdus   int
}

// New returns a card for the profile.
func New(p Profile) (*Card, error) {
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("vcard: profile has no files")
	}
	c := &Card{profile: p}
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

// Reset is a power cycle: it ends any session and puts the card back in.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apdus = 0
}

// Process answers one command APDU. It returns nil when the card has been
// "pulled out" (see Faults.PullOutAfter): the transport must then report the
// card as gone.
func (c *Card) Process(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apdus++
	return []byte{0x6D, 0x00}
}
