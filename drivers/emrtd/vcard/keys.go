package vcard

import (
	"crypto"
	"io"
	"math/big"
)

// ECPrivateKey is an EC private key on any curve this module knows
// (brainpoolP256r1/384r1/512r1, P-256/384/521), by name.
type ECPrivateKey struct {
	Curve string
	D     *big.Int
}

// Public returns nil until implemented.
func (k *ECPrivateKey) Public() crypto.PublicKey { return nil }

// Sign signs a digest with ECDSA and returns the ASN.1 DER signature.
func (k *ECPrivateKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}
