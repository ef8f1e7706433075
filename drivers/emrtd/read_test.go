package emrtd_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

// fixture is a fictional test card and the PKI that signed it.
type fixture struct {
	profile vcard.Profile
	pki     *vcard.TestPKI
	trust   *emrtd.TrustStore
	photo   []byte
	dg13    []byte
}

type fixtureOptions struct {
	pace     bool
	aa       string // "", "ec", "rsa"
	ca       bool
	pkiCurve string
	rsaPKI   bool
	td3      bool
	photo    int
	tamper13 bool
	paceP256 bool // PACE on NIST P-256 (parameter 12) instead of brainpoolP256r1
	ca3DES   bool // chip authentication with 3DES (MSE:Set KAT)
}

var pkiCache = map[string]*vcard.TestPKI{}

func testPKI(t testing.TB, curveName string, rsaBits int) *vcard.TestPKI {
	key := curveName + string(rune(rsaBits))
	if p, ok := pkiCache[key]; ok {
		return p
	}
	p, err := vcard.NewTestPKI(vcard.PKIOptions{Curve: curveName, RSABits: rsaBits})
	if err != nil {
		t.Fatal(err)
	}
	pkiCache[key] = p
	return p
}

func fakeJPEG(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	return b
}

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	if o.pkiCurve == "" {
		o.pkiCurve = "brainpoolP256r1"
	}
	rsaBits := 0
	if o.rsaPKI {
		rsaBits = 2048
	}
	pki := testPKI(t, o.pkiCurve, rsaBits)
	f := vcard.MRZFields{DocumentCode: "ID", IssuingState: "VNM", DocumentNumber: "012345678", OptionalData1: "001234012345",
		DateOfBirth: "900101", Sex: "M", DateOfExpiry: "300101", Nationality: "VNM", PrimaryName: "NGUYEN", SecondaryName: "VAN A"}
	mrz := f.TD1()
	if o.td3 {
		f.DocumentCode = "P"
		mrz = f.TD3()
	}
	dg1, err := vcard.BuildDG1(mrz)
	if err != nil {
		t.Fatal(err)
	}
	if o.photo == 0 {
		o.photo = 2000
	}
	photo := fakeJPEG(o.photo)
	dg13 := emrtd.EncodeTLV(0x6D, []byte("fictional DG13"))
	groups := map[int][]byte{1: dg1, 2: vcard.BuildDG2(photo, 480, 640), 13: dg13}
	p := vcard.Profile{DocumentNumber: f.DocumentNumber, DateOfBirth: f.DateOfBirth, DateOfExpiry: f.DateOfExpiry, Files: map[uint16][]byte{}}
	if o.ca {
		p.ChipAuthKey, err = vcard.GenerateECKey("brainpoolP256r1", nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	var aaHash crypto.Hash
	switch o.aa {
	case "ec":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p.ActiveAuthKey = k
		aaHash = crypto.SHA256
	case "rsa":
		k, _ := rsa.GenerateKey(rand.Reader, 1024)
		p.ActiveAuthKey = k
	case "brainpool":
		k, err := vcard.GenerateECKey("brainpoolP384r1", nil)
		if err != nil {
			t.Fatal(err)
		}
		p.ActiveAuthKey, p.ActiveAuthHash = k, crypto.SHA384
		aaHash = crypto.SHA384
	}
	if o.ca || aaHash != 0 {
		groups[14], err = vcard.BuildDG14(p.ChipAuthKey, aaHash)
		if err != nil {
			t.Fatal(err)
		}
		if o.ca3DES {
			// id-CA-ECDH-AES-CBC-CMAC-128 (…3.2.2) to id-CA-ECDH-3DES-CBC-CBC (…3.2.1).
			aes := []byte{0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02}
			patched := bytes.Replace(groups[14], aes, append(aes[:11:11], 0x01), 1)
			if bytes.Equal(patched, groups[14]) {
				t.Fatal("DG14 has no AES chip authentication OID to patch")
			}
			groups[14] = patched
		}
	}
	if p.ActiveAuthKey != nil {
		groups[15], err = vcard.BuildDG15(p.ActiveAuthKey.Public())
		if err != nil {
			t.Fatal(err)
		}
	}
	sod, err := vcard.BuildSOD(crypto.SHA256, groups, pki.SignerKey, pki.SignerCert)
	if err != nil {
		t.Fatal(err)
	}
	var list []int
	for n, b := range groups {
		list = append(list, n)
		p.Files[emrtd.DataGroupFile(n)] = b
	}
	p.Files[emrtd.FileCOM] = vcard.BuildCOM(list)
	p.Files[emrtd.FileSOD] = sod
	if o.pace {
		p.CAN = "345678"
		param := 13
		if o.paceP256 {
			param = 12
		}
		p.Files[emrtd.FileCardAccess] = vcard.BuildCardAccess(param, o.ca)
	}
	if o.tamper13 {
		p.Files[emrtd.DataGroupFile(13)] = emrtd.EncodeTLV(0x6D, []byte("fictional DG1X"))
	}
	trust := emrtd.NewTrustStore()
	if _, err := trust.AddCertificate(pki.CSCACert); err != nil {
		t.Fatal(err)
	}
	return &fixture{profile: p, pki: pki, trust: trust, photo: photo, dg13: dg13}
}

func (f *fixture) card(t testing.TB) *vcard.Card {
	c, err := vcard.New(f.profile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) mrzKey() emrtd.AccessKey {
	return emrtd.MRZKey(f.profile.DocumentNumber, f.profile.DateOfBirth, f.profile.DateOfExpiry)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestReadBAC(t *testing.T) {
	for _, td3 := range []bool{false, true} {
		fx := newFixture(t, fixtureOptions{td3: td3})
		doc, err := emrtd.Read(ctx(t), fx.card(t), emrtd.ReadOptions{Keys: []emrtd.AccessKey{fx.mrzKey()}, Trust: fx.trust})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Access.Method != emrtd.MethodBAC || doc.Access.KeyIndex != 0 {
			t.Errorf("access = %+v", doc.Access)
		}
		if doc.DG1 == nil || doc.DG1.DocumentNumber != "012345678" || doc.DG1.PrimaryName != "NGUYEN" || len(doc.DG1.CheckDigitErrors) != 0 {
			t.Errorf("DG1 = %+v", doc.DG1)
		}
		if want := map[bool]string{false: "TD1", true: "TD3"}[td3]; doc.DG1.Format != want {
			t.Errorf("format %s", doc.DG1.Format)
		}
		if doc.DG2 == nil || !bytes.Equal(doc.DG2.Image, fx.photo) || doc.DG2.Format != "jpeg" {
			t.Errorf("DG2 image not extracted")
		}
		if !bytes.Equal(doc.Raw["DG13"], fx.dg13) {
			t.Errorf("DG13 raw = %X", doc.Raw["DG13"])
		}
		for _, n := range []int{1, 2, 13} {
			if !doc.PassiveAuth.DataGroupHashes[n].Passed() {
				t.Errorf("DG%d hash: %+v", n, doc.PassiveAuth.DataGroupHashes[n])
			}
		}
		if !doc.PassiveAuth.Signature.Passed() || doc.PassiveAuth.Chain != emrtd.ChainTrusted {
			t.Errorf("PA = %+v", doc.PassiveAuth)
		}
		if doc.ActiveAuth.Status != emrtd.CheckAbsent || doc.ChipAuth.Status != emrtd.CheckAbsent {
			t.Errorf("AA %+v CA %+v", doc.ActiveAuth, doc.ChipAuth)
		}
		if !doc.Genuine() {
			t.Error("not genuine")
		}
		if doc.Counters.APDUs < 10 || doc.Counters.BytesReceived < 2000 {
			t.Errorf("counters %+v", doc.Counters)
		}
	}
}
