package emrtd_test

import (
	"errors"
	"motcua-agent/drivers/emrtd/vcard"
	"testing"

	"motcua-agent/drivers/emrtd"
)

func TestReadPACECANWithAAAndCA(t *testing.T) {
	for _, aa := range []string{"ec", "rsa"} {
		fx := newFixture(t, fixtureOptions{pace: true, aa: aa, ca: true})
		wrong := emrtd.CANKey("000000")
		doc, err := readWith(t, fx, fx.card(t), wrong, emrtd.CANKey("345678"), fx.mrzKey())
		if err != nil {
			t.Fatal(err)
		}
		if doc.Access.Method != emrtd.MethodPACECAN || doc.Access.KeyIndex != 1 || doc.Access.PACE == nil || doc.Access.PACE.ParameterID != 13 {
			t.Fatalf("access %+v", doc.Access)
		}
		if len(doc.Access.Attempts) != 1 || !errors.Is(doc.Access.Attempts[0].Err, emrtd.ErrAuthFailed) {
			t.Fatalf("attempts %+v", doc.Access.Attempts)
		}
		if !doc.ActiveAuth.Passed() || !doc.ChipAuth.Passed() {
			t.Fatalf("%s: AA %+v CA %+v", aa, doc.ActiveAuth, doc.ChipAuth)
		}
		if !doc.Genuine() {
			t.Fatalf("not genuine: %+v", doc.PassiveAuth)
		}
	}
}

func TestPACEMRZThenBACFallback(t *testing.T) {
	fx := newFixture(t, fixtureOptions{pace: true})
	doc, err := readWith(t, fx, fx.card(t), fx.mrzKey())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Access.Method != emrtd.MethodPACEMRZ {
		t.Fatalf("access %+v", doc.Access)
	}
	doc, err = emrtd.Read(ctx(t), fx.card(t), emrtd.ReadOptions{Keys: []emrtd.AccessKey{fx.mrzKey()}, DisablePACE: true})
	if err != nil || doc.Access.Method != emrtd.MethodBAC {
		t.Fatalf("BAC on a PACE card: %v", err)
	}
}

func TestWrongAAKeyFails(t *testing.T) {
	fx := newFixture(t, fixtureOptions{aa: "ec"})
	other := newFixture(t, fixtureOptions{aa: "ec"})
	fx.profile.ActiveAuthKey = other.profile.ActiveAuthKey // a clone chip without the real key
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ActiveAuth.Status != emrtd.CheckFailed || doc.Genuine() {
		t.Fatalf("AA %+v", doc.ActiveAuth)
	}
}

func TestWrongCAKeyFails(t *testing.T) {
	fx := newFixture(t, fixtureOptions{ca: true})
	other := newFixture(t, fixtureOptions{ca: true})
	fx.profile.ChipAuthKey = other.profile.ChipAuthKey
	doc, err := readWith(t, fx, fx.card(t))
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChipAuth.Status != emrtd.CheckFailed || doc.Genuine() {
		t.Fatalf("CA %+v", doc.ChipAuth)
	}
	// The read went on after re-opening the session.
	if doc.DG1 == nil || !doc.PassiveAuth.DataGroupHashes[13].Passed() {
		t.Fatalf("read did not recover: %+v", doc.PassiveAuth.DataGroupHashes)
	}
}

func TestReadVariants(t *testing.T) {
	for name, o := range map[string]fixtureOptions{
		"PACE on P-256":          {pace: true, paceP256: true, ca: true},
		"CA with 3DES":           {ca: true, ca3DES: true},
		"AA on brainpoolP384r1":  {aa: "brainpool"},
		"RSA-signed PKI with AA": {rsaPKI: true, aa: "rsa", ca: true},
	} {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, o)
			doc, err := readWith(t, fx, fx.card(t), emrtd.CANKey("345678"), fx.mrzKey())
			if err != nil {
				t.Fatal(err)
			}
			if o.pace && (doc.Access.Method != emrtd.MethodPACECAN || doc.Access.PACE.ParameterID != 12) {
				t.Fatalf("access %+v", doc.Access)
			}
			if !doc.Genuine() {
				t.Fatalf("not genuine: AA %+v CA %+v PA %+v", doc.ActiveAuth, doc.ChipAuth, doc.PassiveAuth)
			}
			if o.ca && !doc.ChipAuth.Passed() || o.aa != "" && !doc.ActiveAuth.Passed() {
				t.Fatalf("AA %+v CA %+v", doc.ActiveAuth, doc.ChipAuth)
			}
		})
	}
}

// Chip authentication is proven by the next protected answer, even when
// that answer is an error status.
func TestChipAuthProvenByErrorAnswer(t *testing.T) {
	fx := newFixture(t, fixtureOptions{ca: true})
	fx.profile.Faults.StatusWords = []vcard.StatusFault{{INS: 0xA4, FileID: emrtd.DataGroupFile(1), SW: 0x6A82}}
	_, err := readWith(t, fx, fx.card(t))
	if !errors.Is(err, emrtd.ErrFileNotFound) {
		t.Fatalf("err = %v", err)
	}
	fx.profile.Faults.StatusWords = []vcard.StatusFault{{INS: 0xA4, FileID: emrtd.DataGroupFile(2), SW: 0x6A82}}
	fx.profile.Files[emrtd.FileCOM] = vcard.BuildCOM([]int{1, 2, 13, 14})
	doc, err := emrtd.Read(ctx(t), fx.card(t), emrtd.ReadOptions{Keys: []emrtd.AccessKey{fx.mrzKey()}, DataGroups: []int{14, 2, 1, 13}})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.ChipAuth.Passed() {
		t.Fatalf("CA %+v", doc.ChipAuth)
	}
	// DG2 is listed in EF.COM and the SOD but the card hid it.
	if doc.PassiveAuth.DataGroupHashes[2].Status != emrtd.CheckError || doc.Genuine() {
		t.Fatalf("hidden DG2: %+v", doc.PassiveAuth.DataGroupHashes[2])
	}
}
