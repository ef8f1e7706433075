package emrtd_test

import (
	"errors"
	"testing"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

func readWith(t *testing.T, fx *fixture, card *vcard.Card, keys ...emrtd.AccessKey) (*emrtd.Document, error) {
	t.Helper()
	if keys == nil {
		keys = []emrtd.AccessKey{fx.mrzKey()}
	}
	return emrtd.Read(ctx(t), card, emrtd.ReadOptions{Keys: keys, Trust: fx.trust})
}

func fileCheck(doc *emrtd.Document, name string) emrtd.Check {
	for _, f := range doc.Files {
		if f.Name == name {
			return f.Check
		}
	}
	return emrtd.Check{Status: "missing"}
}

func TestWrongKeyIsAccessDenied(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	bad := emrtd.MRZKey("012345678", "900101", "310101")
	bad.Label = "qr: expiry guess"
	_, err := readWith(t, fx, fx.card(t), bad, emrtd.CANKey("111111"))
	var denied *emrtd.AccessDeniedError
	if !errors.As(err, &denied) || !errors.Is(err, emrtd.ErrAccessDenied) {
		t.Fatalf("err = %v", err)
	}
	if len(denied.Attempts) != 1 || denied.Attempts[0].Method != emrtd.MethodBAC || !errors.Is(denied.Attempts[0].Err, emrtd.ErrAuthFailed) {
		t.Fatalf("attempts = %+v", denied.Attempts)
	}
	t.Log(err)
}

func TestSecondKeyCandidateOpens(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	bad := emrtd.MRZKey("012345678", "900101", "310101")
	good := fx.mrzKey()
	good.Label = "second"
	doc, err := readWith(t, fx, fx.card(t), bad, good)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Access.KeyIndex != 1 || doc.Access.KeyLabel != "second" || len(doc.Access.Attempts) != 1 {
		t.Fatalf("access %+v", doc.Access)
	}
}

func TestTamperedDataGroupFailsHash(t *testing.T) {
	fx := newFixture(t, fixtureOptions{tamper13: true})
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := doc.PassiveAuth.DataGroupHashes[13]; c.Status != emrtd.CheckFailed {
		t.Fatalf("DG13 hash %+v", c)
	}
	if !doc.PassiveAuth.DataGroupHashes[1].Passed() || !doc.PassiveAuth.Signature.Passed() || doc.Genuine() {
		t.Fatalf("PA %+v", doc.PassiveAuth)
	}
}

func TestUnknownCSCAIsNoAnchor(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	other := testPKI(t, "P-256", 0)
	fx.trust = emrtd.NewTrustStore()
	if _, err := fx.trust.AddCertificate(other.CSCACert); err != nil {
		t.Fatal(err)
	}
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if !doc.PassiveAuth.Signature.Passed() {
		t.Fatalf("signature %+v", doc.PassiveAuth.Signature)
	}
	// The other test CSCA has the same name: the chain fails rather than
	// finding no anchor.
	if doc.PassiveAuth.Chain != emrtd.ChainUntrusted {
		t.Fatalf("chain %s (%s)", doc.PassiveAuth.Chain, doc.PassiveAuth.ChainDetail)
	}
	fx.trust = emrtd.NewTrustStore()
	doc, err = readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if doc.PassiveAuth.Chain != emrtd.ChainNoAnchor || !doc.PassiveAuth.Signature.Passed() || doc.Genuine() {
		t.Fatalf("chain %s, signature %+v", doc.PassiveAuth.Chain, doc.PassiveAuth.Signature)
	}
}

func TestBadResponseMAC(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.profile.Faults.BadMACFile = emrtd.DataGroupFile(2)
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := fileCheck(doc, "DG2"); !errors.Is(c.Err, emrtd.ErrMACMismatch) {
		t.Fatalf("DG2 read %+v", c)
	}
	if doc.DG2 != nil || doc.PassiveAuth.DataGroupHashes[2].Status != emrtd.CheckError || doc.Genuine() {
		t.Fatalf("DG2 accepted after a MAC failure")
	}
	// The session was reopened: DG13 after DG2 was still read and verified.
	if !doc.PassiveAuth.DataGroupHashes[13].Passed() {
		t.Fatalf("DG13 %+v", doc.PassiveAuth.DataGroupHashes[13])
	}

	fx.profile.Faults.BadMACFile = emrtd.DataGroupFile(1)
	_, err = readWith(t, fx, fx.card(t))
	if !errors.Is(err, emrtd.ErrMACMismatch) {
		t.Fatalf("DG1 MAC failure: err = %v", err)
	}
}

func TestStatusWordFault(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.profile.Faults.StatusWords = []vcard.StatusFault{{INS: 0xA4, FileID: emrtd.DataGroupFile(2), SW: 0x6982}}
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	var se *emrtd.StatusError
	if c := fileCheck(doc, "DG2"); !errors.Is(c.Err, emrtd.ErrSecurityStatus) || !errors.As(c.Err, &se) || se.SW != 0x6982 {
		t.Fatalf("DG2 %+v", c)
	}
	if !doc.PassiveAuth.DataGroupHashes[13].Passed() {
		t.Fatalf("DG13 after the fault: %+v", doc.PassiveAuth.DataGroupHashes[13])
	}
}

func TestMalformedFiles(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	// DG13 claims more bytes than it has; DG2 is not a biometric template.
	fx.profile.Files[emrtd.DataGroupFile(13)] = []byte{0x6D, 0x82, 0x10, 0x00, 1, 2, 3}
	fx.profile.Files[emrtd.DataGroupFile(2)] = emrtd.EncodeTLV(0x75, []byte{0x7F, 0x61, 0x05, 1})
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := fileCheck(doc, "DG13"); c.Status != emrtd.CheckError {
		t.Fatalf("DG13 %+v", c)
	}
	if c := fileCheck(doc, "DG2"); c.Status != emrtd.CheckError || !errors.Is(c.Err, emrtd.ErrMalformed) {
		t.Fatalf("DG2 %+v", c)
	}
	if doc.PassiveAuth.DataGroupHashes[2].Status != emrtd.CheckFailed || !doc.PassiveAuth.DataGroupHashes[1].Passed() {
		t.Fatalf("hashes %+v", doc.PassiveAuth.DataGroupHashes)
	}
	// A truncated DG1 is fatal: there is no identity without it.
	fx.profile.Files[emrtd.DataGroupFile(1)] = fx.profile.Files[emrtd.DataGroupFile(1)][:20]
	if _, err := readWith(t, fx, fx.card(t)); err == nil {
		t.Fatal("truncated DG1 accepted")
	}
}

func TestPulledOutMidRead(t *testing.T) {
	fx := newFixture(t, fixtureOptions{photo: 20000})
	fx.profile.Faults.PullOutAfter = 30
	card := fx.card(t)
	doc, err := readWith(t, fx, card)
	if !errors.Is(err, vcard.ErrRemoved) || doc != nil {
		t.Fatalf("err = %v", err)
	}
	card.SetFaults(vcard.Faults{})
	card.Reset()
	if _, err := readWith(t, fx, card); err != nil {
		t.Fatalf("next read: %v", err)
	}
}

func TestHugeFileIsRefused(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.profile.Files[emrtd.DataGroupFile(2)] = []byte{0x75, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0}
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := fileCheck(doc, "DG2"); !errors.Is(c.Err, emrtd.ErrTooLarge) {
		t.Fatalf("DG2 %+v", c)
	}
}

func TestDeclaredFileFaults(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.profile.Faults.TruncateFile = map[uint16]int{emrtd.DataGroupFile(13): 5}
	fx.profile.Faults.MalformFile = map[uint16]bool{emrtd.DataGroupFile(2): true}
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if c := fileCheck(doc, "DG13"); c.Status != emrtd.CheckError {
		t.Fatalf("truncated DG13: %+v", c)
	}
	if c := fileCheck(doc, "DG2"); c.Status != emrtd.CheckError || !errors.Is(c.Err, emrtd.ErrMalformed) {
		t.Fatalf("malformed DG2: %+v", c)
	}
	if doc.PassiveAuth.DataGroupHashes[2].Status != emrtd.CheckFailed || doc.PassiveAuth.DataGroupHashes[13].Status != emrtd.CheckError || doc.Genuine() {
		t.Fatalf("hashes %+v", doc.PassiveAuth.DataGroupHashes)
	}
	if !doc.PassiveAuth.DataGroupHashes[1].Passed() {
		t.Fatal("DG1 should still verify")
	}
}
