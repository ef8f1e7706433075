// Package simcard turns a fictional citizen's profile file (testdata/cards/*.json)
// into a virtual CCCD chip (a vcard.Profile): it builds EF.COM, DG1, DG2, DG13, DG14,
// DG15, EF.CardAccess and an EF.SOD signed by a test document signer kept beside the
// profiles. It also generates those test keys and photos (see Generate).
//
// It exists for tests, the demo and `sim card`. It must never be given real people's
// data, and nothing here is a security boundary: the test keys are public.
package simcard

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

// Citizen is one profile file.
type Citizen struct {
	Description string `json:"description"`
	// QR is the payload of the QR printed on the card.
	QR string `json:"qr"`
	// MRZ is the TD1 printed on the back, lines separated by newlines.
	MRZ string `json:"mrz"`
	// DG13 holds the Vietnamese data group's fields.
	DG13 DG13 `json:"dg13"`
	// Photo is a JPEG file relative to the profile's directory; empty means no DG2.
	Photo string `json:"photo,omitempty"`
	// PKI names the directory under pki/ holding the document signer ("test" or
	// "unknown"); pki/ is beside the profile or beside its folder.
	PKI string `json:"pki"`
	// PACE declares PACE-CAN/MRZ in EF.CardAccess on the given standard domain
	// parameters (13 brainpoolP256r1, 12 P-256); 0 means BAC only.
	PACE int `json:"pace,omitempty"`
	// ActiveAuth is "ec", "rsa" or "" (no DG15).
	ActiveAuth string `json:"active_auth,omitempty"`
	// ChipAuth puts a chip authentication key in DG14.
	ChipAuth bool `json:"chip_auth,omitempty"`
	// EncryptedGroups are stored encrypted under a key the reader does not have (the
	// 2024 card, Circular 16/2024): the file holds a cryptogram where its content
	// belongs, and the SOD hashes the cryptogram. Only DG13 is supported.
	EncryptedGroups []int `json:"encrypted_groups,omitempty"`
	// LockedGroups are refused (6982, security status not satisfied) even inside the
	// secure channel that opens the others.
	LockedGroups []int `json:"locked_groups,omitempty"`
	// NoMF makes the card answer 6D00 to SELECT MF and to SELECT of EF.CardAccess by
	// file identifier (seen on Vietnamese cards); READ BINARY by short file
	// identifier still reads EF.CardAccess.
	NoMF bool `json:"no_mf,omitempty"`

	dir string
}

// DG13 is the JSON form of cccd.DG13.
type DG13 struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Birth        string `json:"birth"`
	Sex          string `json:"sex"`
	Nationality  string `json:"nationality"`
	Ethnicity    string `json:"ethnicity"`
	Religion     string `json:"religion"`
	Origin       string `json:"origin"`
	Residence    string `json:"residence"`
	Marks        string `json:"marks"`
	Issued       string `json:"issued"`
	Expiry       string `json:"expiry"`
	Father       string `json:"father"`
	Mother       string `json:"mother"`
	Spouse       string `json:"spouse,omitempty"`
	OldID        string `json:"old_id,omitempty"`
	Field16      string `json:"field16,omitempty"`
	ParentLayout string `json:"parent_layout"` // "flat" or "nested"
}

// Value gives the cccd.DG13.
func (d DG13) Value() cccd.DG13 {
	layout := cccd.ParentsFlat
	if d.ParentLayout == "nested" {
		layout = cccd.ParentsNested
	}
	return cccd.DG13{Version: 1, ID: d.ID, Name: d.Name, Birth: d.Birth, Sex: d.Sex, Nationality: d.Nationality,
		Ethnicity: d.Ethnicity, Religion: d.Religion, Origin: d.Origin, Residence: d.Residence, Marks: d.Marks,
		Issued: d.Issued, Expiry: d.Expiry, Father: d.Father, Mother: d.Mother, Spouse: d.Spouse, OldID: d.OldID,
		Field16: d.Field16, ParentLayout: layout}
}

// Load reads a profile file.
func Load(path string) (*Citizen, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load card profile: %w", err)
	}
	var c Citizen
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("load card profile %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	if _, err := c.MRZKey(); err != nil {
		return nil, fmt.Errorf("load card profile %s: %w", path, err)
	}
	return &c, nil
}

// MRZKey is the BAC key of the card, from its printed MRZ.
func (c *Citizen) MRZKey() (emrtd.AccessKey, error) {
	m, err := emrtd.ParseMRZ(c.MRZ)
	if err != nil {
		return emrtd.AccessKey{}, err
	}
	if len(m.CheckDigitErrors) > 0 {
		return emrtd.AccessKey{}, fmt.Errorf("MRZ check digits wrong: %v", m.CheckDigitErrors)
	}
	return m.AccessKey(), nil
}

// pkiDir finds pki/<PKI> beside the profile or, for profiles kept in a subfolder of
// testdata/cards, beside its parent.
func (c *Citizen) pkiDir() string {
	d := filepath.Join(c.dir, "pki", c.PKI)
	if _, err := os.Stat(d); err != nil {
		if up := filepath.Join(c.dir, "..", "pki", c.PKI); up != d {
			if _, err := os.Stat(up); err == nil {
				return up
			}
		}
	}
	return d
}

// CAN is the card access number (last six digits of the ID).
func (c *Citizen) CAN() string { return c.DG13.ID[6:] }

// Options change the card built from a profile, for fault tests.
type Options struct {
	// TamperDG13 changes DG13 after the SOD was signed (the hash check must fail).
	TamperDG13 bool
	// Faults are passed to the virtual card.
	Faults vcard.Faults
	// ExtendedLength lets the card take extended-length APDUs with MaxLe bytes.
	ExtendedLength bool
	MaxLe          int
}

// Card builds the virtual chip.
func (c *Citizen) Card(opt Options) (*vcard.Card, error) {
	p, err := c.Profile(opt)
	if err != nil {
		return nil, err
	}
	return vcard.New(p)
}

// Profile builds the vcard.Profile.
func (c *Citizen) Profile(opt Options) (vcard.Profile, error) {
	key, err := c.MRZKey()
	if err != nil {
		return vcard.Profile{}, err
	}
	signer, err := LoadSigner(c.pkiDir())
	if err != nil {
		return vcard.Profile{}, err
	}
	dg1, err := vcard.BuildDG1(strings.ReplaceAll(c.MRZ, "\n", ""))
	if err != nil {
		return vcard.Profile{}, fmt.Errorf("build DG1: %w", err)
	}
	dgs := map[int][]byte{1: dg1, 13: cccd.BuildDG13(c.DG13.Value())}
	for _, n := range c.EncryptedGroups {
		if n != 13 {
			return vcard.Profile{}, fmt.Errorf("encrypted_groups: DG%d: only DG13 can be encrypted", n)
		}
		if dgs[13], err = encryptDG13(dgs[13]); err != nil {
			return vcard.Profile{}, err
		}
	}
	if c.Photo != "" {
		jpg, err := os.ReadFile(filepath.Join(c.dir, c.Photo))
		if err != nil {
			return vcard.Profile{}, fmt.Errorf("card photo: %w", err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
		if err != nil {
			return vcard.Profile{}, fmt.Errorf("card photo %s: %w", c.Photo, err)
		}
		dgs[2] = vcard.BuildDG2(jpg, cfg.Width, cfg.Height)
	}
	p := vcard.Profile{
		DocumentNumber: key.DocumentNumber, DateOfBirth: key.DateOfBirth, DateOfExpiry: key.DateOfExpiry,
		CAN: c.CAN(), Faults: opt.Faults, ExtendedLength: opt.ExtendedLength, MaxLe: opt.MaxLe,
	}
	p.Faults.StatusWords = append([]vcard.StatusFault(nil), p.Faults.StatusWords...)
	for _, n := range c.LockedGroups {
		p.Faults.StatusWords = append(p.Faults.StatusWords,
			vcard.StatusFault{INS: 0xB0, FileID: emrtd.DataGroupFile(n), SW: 0x6982, Repeat: true},
			vcard.StatusFault{INS: 0xB1, FileID: emrtd.DataGroupFile(n), SW: 0x6982, Repeat: true})
	}
	if c.NoMF {
		p.Faults.StatusWords = append(p.Faults.StatusWords,
			vcard.StatusFault{INS: 0xA4, FileID: 0x3F00, SW: 0x6D00, Repeat: true},
			vcard.StatusFault{INS: 0xA4, FileID: emrtd.FileCardAccess, SW: 0x6D00, Repeat: true})
	}
	var aaHash crypto.Hash
	switch c.ActiveAuth {
	case "ec":
		k, err := vcard.GenerateECKey("brainpoolP256r1", rand.Reader)
		if err != nil {
			return vcard.Profile{}, err
		}
		p.ActiveAuthKey, p.ActiveAuthHash, aaHash = k, crypto.SHA256, crypto.SHA256
	case "rsa":
		k, err := rsaKey()
		if err != nil {
			return vcard.Profile{}, err
		}
		p.ActiveAuthKey = k
	case "":
	default:
		return vcard.Profile{}, fmt.Errorf("active_auth %q: want ec, rsa or empty", c.ActiveAuth)
	}
	if p.ActiveAuthKey != nil {
		if dgs[15], err = vcard.BuildDG15(p.ActiveAuthKey.Public()); err != nil {
			return vcard.Profile{}, err
		}
	}
	if c.ChipAuth {
		if p.ChipAuthKey, err = vcard.GenerateECKey("brainpoolP256r1", rand.Reader); err != nil {
			return vcard.Profile{}, err
		}
	}
	if c.ChipAuth || aaHash != 0 {
		if dgs[14], err = vcard.BuildDG14(p.ChipAuthKey, aaHash); err != nil {
			return vcard.Profile{}, err
		}
	}
	sod, err := vcard.BuildSOD(crypto.SHA256, dgs, signer.Key, signer.Cert)
	if err != nil {
		return vcard.Profile{}, fmt.Errorf("build SOD: %w", err)
	}
	if opt.TamperDG13 {
		t := c.DG13.Value()
		t.Name += " X"
		dgs[13] = cccd.BuildDG13(t)
	}
	var nums []int
	p.Files = map[uint16][]byte{emrtd.FileSOD: sod}
	for n, b := range dgs {
		nums = append(nums, n)
		p.Files[emrtd.DataGroupFile(n)] = b
	}
	sort.Ints(nums)
	p.Files[emrtd.FileCOM] = vcard.BuildCOM(nums)
	if c.PACE != 0 {
		p.Files[emrtd.FileCardAccess] = vcard.BuildCardAccess(c.PACE, c.ChipAuth)
	}
	return p, nil
}

// encryptDG13 replaces DG13's content with a cryptogram: the fields encrypted with
// AES-256-CBC under a key made here and thrown away, as an OCTET STRING inside the 6D
// tag. No reader can recover the fields, which is the point.
func encryptDG13(dg13 []byte) ([]byte, error) {
	t, _, err := emrtd.ParseTLV(dg13)
	if err != nil {
		return nil, fmt.Errorf("encrypt DG13: %w", err)
	}
	key := make([]byte, 32)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(t.Value)%aes.BlockSize
	plain := append(append([]byte(nil), t.Value...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	return emrtd.EncodeTLV(0x6D, emrtd.EncodeTLV(0x04, append(iv, ct...))), nil
}

// rsaKey makes an active authentication RSA key (1024 bits: the size older chips
// use, and quick to generate for each simulated card).
func rsaKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 1024) }

// ExtendedCard is a virtual card whose ATR declares extended-length APDUs in its card
// capabilities (ISO 7816-4 compact TLV 73), as a card with a large MaxLe would.
type ExtendedCard struct {
	*vcard.Card
}

// ATR is a contactless-style ATR whose historical bytes are 80 73 00 00 40 (card
// capabilities: extended Lc and Le).
func (c ExtendedCard) ATR() []byte {
	atr := []byte{0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0x40}
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}
