package vcard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"motcua-agent/drivers/emrtd/internal/curve"
)

// ECPrivateKey is an EC private key on a named curve this module knows
// (brainpoolP256r1/384r1/512r1, P-256/384/521), brainpool included.
type ECPrivateKey struct {
	Curve string
	D     *big.Int
}

// ECPublicKey is the public half of an ECPrivateKey.
type ECPublicKey struct {
	Curve string
	X, Y  *big.Int
}

// GenerateECKey makes a key on the named curve.
func GenerateECKey(curveName string, random io.Reader) (*ECPrivateKey, error) {
	c := curve.ByName(curveName)
	if c == nil {
		return nil, fmt.Errorf("vcard: unknown curve %q", curveName)
	}
	d, _, err := c.GenerateKey(random)
	if err != nil {
		return nil, err
	}
	return &ECPrivateKey{Curve: c.Name, D: d}, nil
}

func (k *ECPrivateKey) curve() *curve.Curve { return curve.ByName(k.Curve) }

func (k *ECPrivateKey) point() curve.Point { return k.curve().ScalarMult(k.curve().G(), k.D) }

// Public returns the *ECPublicKey (nil for an unknown curve).
func (k *ECPrivateKey) Public() crypto.PublicKey {
	if k.curve() == nil || k.D == nil {
		return nil
	}
	p := k.point()
	return &ECPublicKey{Curve: k.Curve, X: p.X, Y: p.Y}
}

// Sign signs a digest with ECDSA and returns the ASN.1 DER signature.
func (k *ECPrivateKey) Sign(random io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	if k.curve() == nil || k.D == nil {
		return nil, fmt.Errorf("vcard: EC key on unknown curve %q", k.Curve)
	}
	r, s, err := k.curve().Sign(random, k.D, digest)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// signPlain signs a digest and returns r || s (BSI TR-03111 plain format).
func (k *ECPrivateKey) signPlain(random io.Reader, digest []byte) ([]byte, error) {
	c := k.curve()
	r, s, err := c.Sign(random, k.D, digest)
	if err != nil {
		return nil, err
	}
	n := (c.N.BitLen() + 7) / 8
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSAKey      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type spki struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

func parseOID(s string) asn1.ObjectIdentifier {
	var oid asn1.ObjectIdentifier
	n := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			oid = append(oid, n)
			n = 0
			continue
		}
		n = n*10 + int(s[i]-'0')
	}
	return oid
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("vcard: asn1: " + err.Error()) // only fixed structures are marshalled
	}
	return b
}

// PublicKeyDER returns the SubjectPublicKeyInfo (DER) of an RSA or EC public
// key: *rsa.PublicKey, *ecdsa.PublicKey or *ECPublicKey.
func PublicKeyDER(pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case *PSSKey:
		return PublicKeyDER(k.Public())
	case *rsa.PublicKey:
		body := mustMarshal(struct {
			N *big.Int
			E int
		}{k.N, k.E})
		return asn1.Marshal(spki{algorithmIdentifier{oidRSAKey, asn1.NullRawValue}, asn1.BitString{Bytes: body, BitLength: 8 * len(body)}})
	case *ecdsa.PublicKey:
		b, err := k.Bytes() // uncompressed point 04 || X || Y
		if err != nil {
			return nil, fmt.Errorf("vcard: %w", err)
		}
		n := (len(b) - 1) / 2
		return PublicKeyDER(&ECPublicKey{Curve: k.Curve.Params().Name, X: new(big.Int).SetBytes(b[1 : 1+n]), Y: new(big.Int).SetBytes(b[1+n:])})
	case *ECPublicKey:
		c := curve.ByName(k.Curve)
		if c == nil {
			return nil, fmt.Errorf("vcard: unknown curve %q", k.Curve)
		}
		point := c.Marshal(curve.Point{X: k.X, Y: k.Y})
		params := asn1.RawValue{FullBytes: mustMarshal(parseOID(c.OID))}
		return asn1.Marshal(spki{algorithmIdentifier{oidECPublicKey, params}, asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
	}
	return nil, fmt.Errorf("vcard: public key type %T not supported", pub)
}
