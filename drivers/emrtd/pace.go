package emrtd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"motcua-agent/drivers/emrtd/internal/curve"
	"motcua-agent/drivers/emrtd/internal/sm"
)

// choosePACE returns the first offered PACE protocol this package speaks:
// ECDH generic mapping on a curve it knows.
func choosePACE(info *SecurityInfos) *PACEInfo {
	if info == nil {
		return nil
	}
	for _, p := range info.PACE {
		if _, ok := sm.CipherByName(p.Cipher); ok && p.Mapping == "GM" && p.Agreement == "ECDH" && curve.ByPACEParameterID(p.ParameterID) != nil {
			p := p
			return &p
		}
	}
	return nil
}

// PACEPassword returns the PACE password of a key (the CAN as text, or
// SHA-1 of the MRZ information) and its reference (1 MRZ, 2 CAN).
func PACEPassword(k AccessKey) ([]byte, byte, error) {
	if k.IsCAN() {
		return []byte(k.CAN), 2, nil
	}
	info, err := k.mrzInformation()
	if err != nil {
		return nil, 0, err
	}
	h := sha1.Sum([]byte(info))
	return h[:], 1, nil
}

func oidBytes(dotted string) []byte {
	var oid asn1.ObjectIdentifier
	for _, part := range bytes.Split([]byte(dotted), []byte(".")) {
		n := 0
		for _, c := range part {
			n = n*10 + int(c-'0')
		}
		oid = append(oid, n)
	}
	der, _ := asn1.Marshal(oid)
	return der[2:] // the OID's contents without tag and length
}

// pacePublicKeyObject is the public key data object the tokens cover:
// 7F49 { 06 OID, 86 point }.
func pacePublicKeyObject(oid string, point []byte) []byte {
	return EncodeTLV(0x7F49, append(EncodeTLV(0x06, oidBytes(oid)), EncodeTLV(0x86, point)...))
}

// generalAuthenticate sends one step of the GA chain and returns the
// wanted data object from the 7C answer.
func (c *conn) generalAuthenticate(ctx context.Context, last bool, tag uint32, value []byte, want uint32) ([]byte, error) {
	cla := byte(0x10)
	if last {
		cla = 0
	}
	data := EncodeTLV(0x7C, nil)
	if tag != 0 {
		data = EncodeTLV(0x7C, EncodeTLV(tag, value))
	}
	resp, err := c.send(ctx, sm.Command{CLA: cla, INS: 0x86, Data: data, Le: 256})
	if err != nil {
		return nil, err
	}
	t, err := ParseSingleTLV(resp, 0x7C)
	if err != nil {
		return nil, fmt.Errorf("general authenticate answer: %w", err)
	}
	if want == 0 {
		return nil, nil
	}
	kids, err := t.Children()
	if err != nil {
		return nil, fmt.Errorf("general authenticate answer: %w", err)
	}
	v, ok := Find(kids, want)
	if !ok {
		return nil, fmt.Errorf("general authenticate answer lacks tag %X: %w", want, ErrMalformedResponse)
	}
	return v.Value, nil
}

// pace runs PACE (9303-11 §4.4) with ECDH generic mapping and opens
// secure messaging on c.
func (c *conn) pace(ctx context.Context, p PACEInfo, k AccessKey, random io.Reader) error {
	if random == nil {
		random = rand.Reader
	}
	cipher, _ := sm.CipherByName(p.Cipher)
	cv := curve.ByPACEParameterID(p.ParameterID)
	password, ref, err := PACEPassword(k)
	if err != nil {
		return fmt.Errorf("PACE: %w", err)
	}
	c.sm = nil
	mse := append(EncodeTLV(0x80, oidBytes(p.Protocol)), EncodeTLV(0x83, []byte{ref})...)
	mse = append(mse, EncodeTLV(0x84, []byte{byte(p.ParameterID)})...)
	if _, err := c.send(ctx, sm.Command{INS: 0x22, P1: 0xC1, P2: 0xA4, Data: mse, Le: -1}); err != nil {
		return fmt.Errorf("PACE: MSE:Set AT: %w", err)
	}
	z, err := c.generalAuthenticate(ctx, false, 0, nil, 0x80)
	if err != nil {
		return fmt.Errorf("PACE: encrypted nonce: %w", err)
	}
	if len(z) == 0 || len(z)%cipher.BlockSize() != 0 || len(z) > 64 {
		return fmt.Errorf("PACE: nonce of %d bytes: %w", len(z), ErrMalformedResponse)
	}
	kpi := sm.DeriveKey(cipher, password, sm.CounterPACE)
	s := sm.Decrypt(cipher, kpi, make([]byte, cipher.BlockSize()), z)

	mapSK, mapPK, err := cv.GenerateKey(random)
	if err != nil {
		return fmt.Errorf("PACE: mapping key: %w", err)
	}
	icMap, err := c.generalAuthenticate(ctx, false, 0x81, cv.Marshal(mapPK), 0x82)
	if err != nil {
		return fmt.Errorf("PACE: map nonce: %w", err)
	}
	mapped, err := paceMap(cv, s, mapSK, icMap)
	if err != nil {
		return fmt.Errorf("PACE: map nonce: %w", err)
	}
	ephSK, ephPK, err := mapped.GenerateKey(random)
	if err != nil {
		return fmt.Errorf("PACE: ephemeral key: %w", err)
	}
	ephPKBytes := mapped.Marshal(ephPK)
	icEph, err := c.generalAuthenticate(ctx, false, 0x83, ephPKBytes, 0x84)
	if err != nil {
		return fmt.Errorf("PACE: key agreement: %w", err)
	}
	if bytes.Equal(icEph, ephPKBytes) {
		return fmt.Errorf("PACE: chip echoed the terminal's key: %w", ErrAuthFailed)
	}
	icPoint, err := mapped.Unmarshal(icEph)
	if err != nil {
		return fmt.Errorf("PACE: chip key: %w", err)
	}
	secret, err := mapped.ECDH(ephSK, icPoint)
	if err != nil {
		return fmt.Errorf("PACE: shared secret: %w", err)
	}
	session := sm.NewSession(cipher, secret, nil)
	tPCD := sm.Token(cipher, session.KSmac, pacePublicKeyObject(p.Protocol, icEph))
	tPICC, err := c.generalAuthenticate(ctx, true, 0x85, tPCD, 0x86)
	if err != nil {
		return fmt.Errorf("PACE: mutual authentication: %w", err)
	}
	expect := sm.Token(cipher, session.KSmac, pacePublicKeyObject(p.Protocol, ephPKBytes))
	if subtle.ConstantTimeCompare(tPICC, expect) != 1 {
		return fmt.Errorf("PACE: chip token does not verify: %w", ErrAuthFailed)
	}
	c.sm = session
	return nil
}

// paceMap computes the generic mapping G' = s*G + H with H = mapSK * the
// chip's mapping key.
func paceMap(cv *curve.Curve, nonce []byte, mapSK *big.Int, icMapKey []byte) (*curve.Curve, error) {
	icPoint, err := cv.Unmarshal(icMapKey)
	if err != nil {
		return nil, fmt.Errorf("chip mapping key: %w", err)
	}
	h := cv.ScalarMult(icPoint, mapSK)
	if h.Infinity() {
		return nil, fmt.Errorf("mapping point at infinity: %w", ErrAuthFailed)
	}
	m := cv.MapGeneric(new(big.Int).SetBytes(nonce), h)
	if m.Gx == nil {
		return nil, fmt.Errorf("mapped generator at infinity: %w", ErrAuthFailed)
	}
	return m, nil
}
