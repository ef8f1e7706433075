package curve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func TestCurvesConsistent(t *testing.T) {
	for _, c := range All {
		if !c.OnCurve(c.G()) {
			t.Errorf("%s: G not on curve", c.Name)
		}
		if !c.ScalarMult(c.G(), c.N).Infinity() {
			t.Errorf("%s: n*G != O", c.Name)
		}
	}
	if BrainpoolP256r1.A.Text(16) != "7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9" {
		t.Errorf("brainpoolP256r1 a = %x", BrainpoolP256r1.A)
	}
}

func TestECDSAAgainstStdlib(t *testing.T) {
	key, _ := ecdsa.GenerateKey(P256ForStdlib(), rand.Reader)
	digest := sha256.Sum256([]byte("data"))
	r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
	if !P256.Verify(Point{key.X, key.Y}, digest[:], r, s) {
		t.Fatal("stdlib signature rejected")
	}
	for _, c := range All {
		d, q, _ := c.GenerateKey(nil)
		r, s, err := c.Sign(nil, d, digest[:])
		if err != nil || !c.Verify(q, digest[:], r, s) {
			t.Fatalf("%s: own signature rejected", c.Name)
		}
		digest[0] ^= 1
		if c.Verify(q, digest[:], r, s) {
			t.Fatalf("%s: altered digest accepted", c.Name)
		}
	}
}

func P256ForStdlib() elliptic.Curve { return elliptic.P256() }
