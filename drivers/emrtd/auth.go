package emrtd

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"

	"motcua-agent/drivers/emrtd/internal/sm"
)

// chipAuth runs chip authentication (9303-11 §6.2) with the first ECDH key
// in DG14 and switches secure messaging to the new keys. Whether the chip
// really holds the key shows on the next protected command.
func (r *reader) chipAuth(ctx context.Context, dg14 *SecurityInfos) error {
	c := &r.c
	var key *ChipAuthPublicKey
	for i := range dg14.ChipAuthKeys {
		if dg14.ChipAuthKeys[i].Key.ec != nil {
			key = &dg14.ChipAuthKeys[i]
			break
		}
	}
	if key == nil {
		return fmt.Errorf("no ECDH chip authentication key in DG14: %w", ErrMalformed)
	}
	info := ChipAuthInfo{Protocol: OIDCAECDH3DES, Cipher: "3DES"}
	for _, ci := range dg14.ChipAuth {
		if key.KeyID == nil || ci.KeyID == nil || ci.KeyID.Cmp(key.KeyID) == 0 {
			info = ci
			break
		}
	}
	cipher, ok := sm.CipherByName(info.Cipher)
	if !ok {
		return fmt.Errorf("chip authentication cipher %s: %w", info.Cipher, ErrMalformed)
	}
	cv := key.Key.ec.curve
	random := r.random
	if random == nil {
		random = rand.Reader
	}
	sk, pk, err := cv.GenerateKey(random)
	if err != nil {
		return fmt.Errorf("ephemeral key: %w", err)
	}
	var keyRef []byte
	if key.KeyID != nil {
		keyRef = EncodeTLV(0x84, key.KeyID.Bytes())
	}
	pkBytes := cv.Marshal(pk)
	if cipher == sm.TDES {
		if _, err := c.send(ctx, sm.Command{INS: 0x22, P1: 0x41, P2: 0xA6, Data: append(EncodeTLV(0x91, pkBytes), keyRef...), Le: -1}); err != nil {
			return fmt.Errorf("MSE:Set KAT: %w", err)
		}
	} else {
		if _, err := c.send(ctx, sm.Command{INS: 0x22, P1: 0x41, P2: 0xA4, Data: append(EncodeTLV(0x80, oidBytes(info.Protocol)), keyRef...), Le: -1}); err != nil {
			return fmt.Errorf("MSE:Set AT: %w", err)
		}
		if _, err := c.generalAuthenticate(ctx, true, 0x80, pkBytes, 0); err != nil {
			return fmt.Errorf("general authenticate: %w", err)
		}
	}
	secret, err := cv.ECDH(sk, key.Key.ec.point)
	if err != nil {
		return fmt.Errorf("shared secret: %w", err)
	}
	c.sm = sm.NewSession(cipher, secret, nil)
	return nil
}

// activeAuth runs INTERNAL AUTHENTICATE with a random challenge and checks
// the signature with the DG15 key.
func (r *reader) activeAuth(ctx context.Context, key *PublicKey, dg14 *SecurityInfos) Check {
	random := r.random
	if random == nil {
		random = rand.Reader
	}
	challenge := make([]byte, 8)
	if _, err := io.ReadFull(random, challenge); err != nil {
		return Check{Status: CheckError, Detail: err.Error(), Err: err}
	}
	sig, err := r.c.send(ctx, sm.Command{INS: 0x88, Data: challenge, Le: 256})
	if err != nil {
		err = fmt.Errorf("internal authenticate: %w", err)
		if r.c.sm == nil && r.c.dead == nil && r.reopen != nil {
			if rerr := r.reopen(ctx); rerr != nil {
				r.c.dead = rerr
			}
		}
		return Check{Status: CheckError, Detail: err.Error(), Err: err}
	}
	var hashOID string
	if dg14 != nil {
		hashOID = dg14.ActiveAuthHash
	}
	if err := VerifyActiveAuth(key, hashOID, challenge, sig); err != nil {
		status := CheckFailed
		if !isBadSignature(err) {
			status = CheckError
		}
		return Check{Status: status, Detail: err.Error(), Err: err}
	}
	return Check{Status: CheckPassed}
}

// iso9796Hash maps the ISO/IEC 10118-3 hash identifiers of the two-byte
// trailer (xx CC).
var iso9796Hash = map[byte]crypto.Hash{0x33: crypto.SHA1, 0x34: crypto.SHA256, 0x35: crypto.SHA512, 0x36: crypto.SHA384, 0x38: crypto.SHA224}

// VerifyActiveAuth checks an INTERNAL AUTHENTICATE answer: RSA with ISO/IEC
// 9796-2 scheme 1 (message recovery), or plain ECDSA with the algorithm
// named in DG14's ActiveAuthenticationInfo (sigAlgOID).
func VerifyActiveAuth(key *PublicKey, sigAlgOID string, challenge, sig []byte) error {
	switch {
	case key.RSA != nil:
		return verifyISO9796(key.RSA, challenge, sig)
	case key.ec != nil:
		alg, ok := sigAlgs[sigAlgOID]
		if !ok || !alg.ec {
			return fmt.Errorf("active authentication: ECDSA key but no usable ActiveAuthenticationInfo (%q): %w", sigAlgOID, ErrMalformed)
		}
		n := (key.ec.curve.N.BitLen() + 7) / 8
		if len(sig) != 2*n {
			return fmt.Errorf("active authentication: ECDSA signature of %d bytes: %w", len(sig), errBadSignature)
		}
		h := alg.hash.New()
		h.Write(challenge)
		rr, ss := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		if !key.ec.curve.Verify(key.ec.point, h.Sum(nil), rr, ss) {
			return fmt.Errorf("active authentication: %w", errBadSignature)
		}
		return nil
	}
	return fmt.Errorf("active authentication: no key: %w", ErrMalformed)
}

func verifyISO9796(pub *rsa.PublicKey, challenge, sig []byte) error {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return fmt.Errorf("active authentication: RSA signature of %d bytes for a %d-byte modulus: %w", len(sig), k, errBadSignature)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return fmt.Errorf("active authentication: signature not below the modulus: %w", errBadSignature)
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	if m.Bits()[0]&0x0F != 0x0C {
		m.Sub(pub.N, m) // the alternative representation of ISO 9796-2
	}
	b := m.FillBytes(make([]byte, k))
	if b[0]&0xC0 != 0x40 {
		return fmt.Errorf("active authentication: bad ISO 9796-2 header %02X: %w", b[0], errBadSignature)
	}
	var h crypto.Hash
	tlen := 1
	switch {
	case b[k-1] == 0xBC:
		h = crypto.SHA1
	case b[k-1] == 0xCC:
		tlen = 2
		var ok bool
		if h, ok = iso9796Hash[b[k-2]]; !ok {
			return fmt.Errorf("active authentication: unknown hash id %02X: %w", b[k-2], errBadSignature)
		}
	default:
		return fmt.Errorf("active authentication: bad ISO 9796-2 trailer: %w", errBadSignature)
	}
	hlen := h.Size()
	if k < 1+hlen+tlen {
		return fmt.Errorf("active authentication: modulus too small: %w", errBadSignature)
	}
	m1 := b[1 : k-tlen-hlen]
	d := b[k-tlen-hlen : k-tlen]
	hh := h.New()
	hh.Write(m1)
	hh.Write(challenge)
	if subtle.ConstantTimeCompare(hh.Sum(nil), d) != 1 {
		return fmt.Errorf("active authentication: digest does not match the challenge: %w", errBadSignature)
	}
	return nil
}
