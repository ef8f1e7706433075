package simcard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/emrtd"
)

const cardsDir = "../../../testdata/cards"

// Every profile is consistent: its QR parses, the keys computed from the QR alone
// include the printed MRZ's key, DG13 round-trips and agrees with the QR, and the
// card it builds carries the files its options promise.
func TestProfilesAreConsistent(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(cardsDir, "*.json"))
	more, _ := filepath.Glob(filepath.Join(cardsDir, "*", "*.json"))
	paths = append(paths, more...)
	if len(paths) < 8 {
		t.Fatalf("%d profiles", len(paths))
	}
	kinds := map[string]bool{}
	for _, p := range paths {
		c, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := cccd.ParseQR(c.QR)
		if err != nil {
			t.Fatalf("%s: QR: %v", p, err)
		}
		kinds[q.Form] = true
		mrz, _ := c.MRZKey()
		found := false
		for _, k := range cccd.KeysFromQR(q) {
			if !k.IsCAN() && k.DocumentNumber == mrz.DocumentNumber && k.DateOfBirth == mrz.DateOfBirth && k.DateOfExpiry == mrz.DateOfExpiry {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no QR-derived key matches the MRZ %+v", p, mrz)
		}
		if slices.Contains(c.EncryptedGroups, 13) {
			kinds["encrypted"] = true
			prof, err := c.Profile(Options{})
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			// The card's DG13 is a cryptogram the reader reports as such.
			if _, err := cccd.ParseDG13(prof.Files[emrtd.DataGroupFile(13)]); !errors.Is(err, cccd.ErrEncrypted) {
				t.Errorf("%s: encrypted DG13 parsed as %v", p, err)
			}
		}
		d, err := cccd.ParseDG13(cccd.BuildDG13(c.DG13.Value()))
		if err != nil || !cccd.CompareQR(q, d).OK() {
			t.Errorf("%s: DG13 %v, agreement %+v", p, err, cccd.CompareQR(q, d))
		}
		prof, err := c.Profile(Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, ok := prof.Files[emrtd.DataGroupFile(2)]; ok != (c.Photo != "") {
			t.Errorf("%s: DG2 present %v, photo %q", p, ok, c.Photo)
		}
		if _, ok := prof.Files[emrtd.FileCardAccess]; ok != (c.PACE != 0) {
			t.Errorf("%s: CardAccess present %v, pace %d", p, ok, c.PACE)
		}
		if _, ok := prof.Files[emrtd.DataGroupFile(15)]; ok != (c.ActiveAuth != "") {
			t.Errorf("%s: DG15 present %v, AA %q", p, ok, c.ActiveAuth)
		}
	}
	if !kinds[cccd.FormCCCD2021] || !kinds[cccd.FormCCCD2024] || !kinds["encrypted"] {
		t.Errorf("QR forms covered: %v", kinds)
	}
}

// The generator's keys come from fixed seeds: regenerating gives the same keys.
func TestGenerateIsDeterministicInKeys(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range PKIs {
		a, _ := os.ReadFile(filepath.Join(dir, "pki", p.Dir, fileSignerKey))
		b, _ := os.ReadFile(filepath.Join(cardsDir, "pki", p.Dir, fileSignerKey))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: regenerated signer key differs from testdata", p.Dir)
		}
	}
	for _, ph := range Photos {
		a, _ := os.ReadFile(filepath.Join(dir, ph.File))
		b, _ := os.ReadFile(filepath.Join(cardsDir, ph.File))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: regenerated photo differs", ph.File)
		}
	}
}
