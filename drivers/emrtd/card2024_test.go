package emrtd_test

import (
	"errors"
	"slices"
	"testing"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

// The 2024 card keeps some data under a key the agent does not have: a group the card
// refuses inside the secure channel is reported as encrypted, its hash is left out of
// the comparison, and the read and every other check still pass.
func TestLockedGroupIsEncryptedNotFailed(t *testing.T) {
	t.Parallel()
	for _, sw := range []uint16{0x6982, 0x6985} {
		fx := newFixture(t, fixtureOptions{pace: true, aa: "ec", ca: true})
		fx.profile.Faults.StatusWords = []vcard.StatusFault{{INS: 0xB0, FileID: emrtd.DataGroupFile(13), SW: sw, Repeat: true}}
		doc, err := readWith(t, fx, fx.card(t), emrtd.CANKey("345678"))
		if err != nil {
			t.Fatalf("%04X: %v", sw, err)
		}
		c := fileCheck(doc, "DG13")
		if c.Status != emrtd.CheckEncrypted || c.Detail != emrtd.EncryptedDetail {
			t.Fatalf("%04X: DG13 %+v", sw, c)
		}
		if _, ok := doc.Raw["DG13"]; ok {
			t.Fatalf("%04X: DG13 bytes kept from a refused read", sw)
		}
		if !slices.Equal(doc.PassiveAuth.Encrypted, []int{13}) {
			t.Fatalf("%04X: encrypted %v", sw, doc.PassiveAuth.Encrypted)
		}
		if _, ok := doc.PassiveAuth.DataGroupHashes[13]; ok {
			t.Fatalf("%04X: DG13 hash judged without its bytes", sw)
		}
		for _, n := range []int{1, 2, 14, 15} {
			if !doc.PassiveAuth.DataGroupHashes[n].Passed() {
				t.Fatalf("%04X: DG%d hash %+v", sw, n, doc.PassiveAuth.DataGroupHashes[n])
			}
		}
		if !doc.Genuine() || !doc.ActiveAuth.Passed() || !doc.ChipAuth.Passed() {
			t.Fatalf("%04X: genuine %v, AA %+v, CA %+v", sw, doc.Genuine(), doc.ActiveAuth, doc.ChipAuth)
		}
	}
}

// A refused DG1 is still the end of the read: without it nothing identifies the card.
func TestLockedDG1FailsTheRead(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOptions{})
	fx.profile.Faults.StatusWords = []vcard.StatusFault{{INS: 0xB0, FileID: emrtd.DataGroupFile(1), SW: 0x6982, Repeat: true}}
	if _, err := readWith(t, fx, fx.card(t)); !errors.Is(err, emrtd.ErrSecurityStatus) {
		t.Fatalf("err = %v", err)
	}
}

// Cards that answer 6D00 to SELECT MF (and to a SELECT of EF.CardAccess) still give
// EF.CardAccess by its short file identifier, so PACE is found and used.
func TestCardWithoutMFStillOffersPACE(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOptions{pace: true})
	fx.profile.Faults.StatusWords = []vcard.StatusFault{
		{INS: 0xA4, FileID: 0x3F00, SW: 0x6D00, Repeat: true},
		{INS: 0xA4, FileID: emrtd.FileCardAccess, SW: 0x6D00, Repeat: true},
	}
	doc, err := readWith(t, fx, fx.card(t), emrtd.CANKey("345678"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Access.Method != emrtd.MethodPACECAN || !fileCheck(doc, "CardAccess").Passed() || !doc.Genuine() {
		t.Fatalf("access %+v, CardAccess %+v, genuine %v", doc.Access, fileCheck(doc, "CardAccess"), doc.Genuine())
	}
}
