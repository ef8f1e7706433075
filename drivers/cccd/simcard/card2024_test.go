//go:build unix

package simcard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/pcsc"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
)

var cards = filepath.Join("..", "..", "..", "testdata", "cards")

func testTrust(t testing.TB) *emrtd.TrustStore {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(cards, "pki", "test", "csca.der"))
	if err != nil {
		t.Fatal(err)
	}
	ts := emrtd.NewTrustStore()
	if _, err := ts.AddCertificate(der); err != nil {
		t.Fatal(err)
	}
	return ts
}

// readThroughPCSC inserts the citizen's card into vpcd and reads it through pcscd with
// the keys its QR alone gives.
func readThroughPCSC(t *testing.T, ctx context.Context, c *simcard.Citizen, groups []int) *emrtd.Document {
	t.Helper()
	card, err := c.Card(simcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slot := pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
	defer func() {
		if err := slot.WaitGone(ctx); err != nil {
			t.Error(err)
		}
	}()
	q, err := cccd.ParseQR(c.QR)
	if err != nil {
		t.Fatal(err)
	}
	k, err := pcsc.Connect(ctx, slot.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ext, _ := k.ExtendedLength()
	doc, err := emrtd.Read(ctx, k, emrtd.ReadOptions{Keys: cccd.KeysFromQR(q), Trust: testTrust(t), ExtendedLength: ext, DataGroups: groups})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func pcscSetup(t *testing.T) context.Context { return pcscSetupTB(t) }

func pcscSetupTB(t testing.TB) context.Context {
	t.Helper()
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	if err := pcsctest.WaitCard(ctx, vpcd.ReaderName(vpcd.DefaultAddr), false); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// The 2024 card through pcscd and vpcd: it answers 6D00 to SELECT MF and to a SELECT
// of EF.CardAccess, and keeps DG13 encrypted. PACE is still found, the ICAO groups are
// read and verified, and DG13 is reported as encrypted, not as a failure; the same
// when the card refuses DG13 inside the secure channel instead of giving a cryptogram.
func TestEncrypted2024CardThroughPCSC(t *testing.T) {
	ctx := pcscSetup(t)
	c, err := simcard.Load(filepath.Join(cards, "2024", "khanh-encrypted.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.NoMF || len(c.EncryptedGroups) == 0 {
		t.Fatal("the profile no longer describes the 2024 card this test is about")
	}
	locked := *c
	locked.EncryptedGroups, locked.LockedGroups = nil, []int{13}
	for _, tc := range []struct {
		name string
		c    *simcard.Citizen
	}{{"cryptogram", c}, {"refused", &locked}} {
		t.Run(tc.name, func(t *testing.T) {
			doc := readThroughPCSC(t, ctx, tc.c, nil)
			if doc.Access.Method != emrtd.MethodPACECAN {
				t.Errorf("access %s: EF.CardAccess was not found behind the 6D00", doc.Access.Method)
			}
			if !doc.Genuine() || !doc.ActiveAuth.Passed() || !doc.ChipAuth.Passed() {
				t.Errorf("genuine %v, PA %+v, AA %+v, CA %+v", doc.Genuine(), doc.PassiveAuth, doc.ActiveAuth, doc.ChipAuth)
			}
			if id, err := cccd.IDFromMRZ(doc.DG1); err != nil || id != c.DG13.ID {
				t.Errorf("ID from DG1: %v", err)
			}
			if doc.DG2 == nil || len(doc.DG2.Image) == 0 {
				t.Error("no photo")
			}
			d, chk := cccd.DG13Of(doc)
			if chk.Status != emrtd.CheckEncrypted || chk.Detail != "encrypted, not readable by this reader" || d.Name != "" {
				t.Errorf("DG13 %+v", chk)
			}
		})
	}
}
