package emrtd_test

import (
	"bytes"
	"crypto"
	"testing"
	"time"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

// Passive authentication across key types and hashes, brainpool included.
func TestPassiveAuthAlgorithms(t *testing.T) {
	groups := map[int][]byte{1: []byte("dg1 bytes"), 2: []byte("dg2 bytes")}
	for _, tc := range []struct {
		curve string
		rsa   int
		hash  crypto.Hash
		pss   bool
	}{
		{"", 2048, crypto.SHA256, true},
		{"P-256", 0, crypto.SHA256, false}, {"P-256", 0, crypto.SHA224, false}, {"P-384", 0, crypto.SHA384, false}, {"brainpoolP256r1", 0, crypto.SHA256, false},
		{"brainpoolP384r1", 0, crypto.SHA384, false}, {"brainpoolP512r1", 0, crypto.SHA512, false}, {"", 2048, crypto.SHA256, false}, {"", 2048, crypto.SHA1, false},
	} {
		pki, err := vcard.NewTestPKI(vcard.PKIOptions{Curve: tc.curve, RSABits: tc.rsa, Hash: tc.hash, PSS: tc.pss})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := vcard.BuildSOD(tc.hash, groups, pki.SignerKey, pki.SignerCert)
		if err != nil {
			t.Fatal(err)
		}
		sod, err := emrtd.ParseSOD(raw)
		if err != nil {
			t.Fatalf("%s/%d: %v", tc.curve, tc.rsa, err)
		}
		if err := sod.VerifySignature(); err != nil {
			t.Fatalf("%s/%d: %v", tc.curve, tc.rsa, err)
		}
		if !sod.VerifyDataGroup(1, groups[1]).Passed() || sod.VerifyDataGroup(2, []byte("other")).Status != emrtd.CheckFailed {
			t.Fatal("data group hash checks")
		}
		trust := emrtd.NewTrustStore()
		trust.AddCertificate(pki.CSCACert)
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if st, why := trust.VerifyChain(sod.Signer, at); st != emrtd.ChainTrusted {
			t.Fatalf("%s/%d chain %s: %s", tc.curve, tc.rsa, st, why)
		}
		if st, _ := trust.VerifyChain(sod.Signer, time.Date(2040, 6, 1, 0, 0, 0, 0, time.UTC)); st != emrtd.ChainUntrusted {
			t.Fatalf("expired chain %s", st)
		}
		// A flipped bit in the signed content breaks the signature.
		bad := append([]byte(nil), raw...)
		i := bytes.Index(bad, sod.DataGroupHashes[1])
		bad[i] ^= 0x01
		if s2, err := emrtd.ParseSOD(bad); err == nil && s2.VerifySignature() == nil {
			t.Fatalf("%s/%d: altered SOD verified", tc.curve, tc.rsa)
		}
	}
}

func TestMasterList(t *testing.T) {
	a := testPKI(t, "brainpoolP256r1", 0)
	b := testPKI(t, "P-256", 0)
	ml, err := vcard.BuildMasterList([][]byte{a.CSCACert, b.CSCACert}, crypto.SHA256, a.SignerKey, a.SignerCert)
	if err != nil {
		t.Fatal(err)
	}
	got, err := emrtd.ParseMasterList(ml)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Certificates) != 2 || !got.Signature.Passed() || got.Signer == nil {
		t.Fatalf("%+v", got)
	}
}
