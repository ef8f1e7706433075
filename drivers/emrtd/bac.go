package emrtd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"

	"motcua-agent/drivers/emrtd/internal/sm"
)

// CheckDigit computes the ICAO 9303 check digit (weights 7, 3, 1) of an MRZ
// field; '<' counts 0, digits their value, letters A=10..Z=35. It returns -1
// for a character outside the MRZ alphabet.
func CheckDigit(s string) int {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		var v int
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9':
			v = int(ch - '0')
		case ch >= 'A' && ch <= 'Z':
			v = int(ch-'A') + 10
		case ch == '<':
			v = 0
		default:
			return -1
		}
		sum += v * weights[i%3]
	}
	return sum % 10
}

func withCheck(s string) (string, error) {
	d := CheckDigit(s)
	if d < 0 {
		return "", fmt.Errorf("%q is not MRZ text: %w", s, ErrMalformed)
	}
	return s + string(rune('0'+d)), nil
}

// mrzInformation is the BAC/PACE MRZ password text: document number padded
// to 9 with '<', date of birth, date of expiry, each with its check digit.
func (k AccessKey) mrzInformation() (string, error) {
	doc := strings.ToUpper(strings.TrimSpace(k.DocumentNumber))
	if doc == "" || len(k.DateOfBirth) != 6 || len(k.DateOfExpiry) != 6 {
		return "", fmt.Errorf("access key: document number, and 6-digit birth and expiry dates needed: %w", ErrMalformed)
	}
	for len(doc) < 9 {
		doc += "<"
	}
	var out string
	for _, f := range []string{doc, k.DateOfBirth, k.DateOfExpiry} {
		s, err := withCheck(f)
		if err != nil {
			return "", fmt.Errorf("access key: %w", err)
		}
		out += s
	}
	return out, nil
}

// bacKeySeed is the first 16 bytes of SHA-1 of the MRZ information.
func bacKeySeed(k AccessKey) ([]byte, error) {
	info, err := k.mrzInformation()
	if err != nil {
		return nil, err
	}
	h := sha1.Sum([]byte(info))
	return h[:16], nil
}

// BACKeys returns the basic access keys Kenc and Kmac for an MRZ key.
func BACKeys(k AccessKey) (kenc, kmac []byte, err error) {
	seed, err := bacKeySeed(k)
	if err != nil {
		return nil, nil, err
	}
	return sm.DeriveKey(sm.TDES, seed, sm.CounterEnc), sm.DeriveKey(sm.TDES, seed, sm.CounterMAC), nil
}

// bac runs BAC mutual authentication (9303-11 §9.7) and opens 3DES secure
// messaging on c. random supplies RND.IFD and K.IFD (crypto/rand when nil).
func (c *conn) bac(ctx context.Context, k AccessKey, random io.Reader) error {
	kenc, kmac, err := BACKeys(k)
	if err != nil {
		return err
	}
	c.sm = nil
	rndIC, err := c.send(ctx, sm.Command{INS: 0x84, Le: 8})
	if err != nil {
		return fmt.Errorf("BAC: get challenge: %w", err)
	}
	if len(rndIC) != 8 {
		return fmt.Errorf("BAC: challenge of %d bytes: %w", len(rndIC), ErrMalformedResponse)
	}
	if random == nil {
		random = rand.Reader
	}
	rnd := make([]byte, 24)
	if _, err := io.ReadFull(random, rnd); err != nil {
		return fmt.Errorf("BAC: random: %w", err)
	}
	rndIFD, kIFD := rnd[:8], rnd[8:24]
	s := append(append(append([]byte{}, rndIFD...), rndIC...), kIFD...)
	eIFD := sm.Encrypt(sm.TDES, kenc, make([]byte, 8), s)
	mIFD := sm.MAC(sm.TDES, kmac, sm.Pad(eIFD, 8))
	resp, err := c.send(ctx, sm.Command{INS: 0x82, Data: append(eIFD, mIFD...), Le: 40})
	if err != nil {
		return fmt.Errorf("BAC: external authenticate: %w", err)
	}
	if len(resp) != 40 {
		return fmt.Errorf("BAC: external authenticate answer of %d bytes: %w", len(resp), ErrMalformedResponse)
	}
	if subtle.ConstantTimeCompare(sm.MAC(sm.TDES, kmac, sm.Pad(resp[:32], 8)), resp[32:]) != 1 {
		return fmt.Errorf("BAC: chip cryptogram: %w", ErrMACMismatch)
	}
	r := sm.Decrypt(sm.TDES, kenc, make([]byte, 8), resp[:32])
	if !bytes.Equal(r[:8], rndIC) || !bytes.Equal(r[8:16], rndIFD) {
		return fmt.Errorf("BAC: chip answered other nonces: %w", ErrAuthFailed)
	}
	kIC := r[16:32]
	secret := make([]byte, 16)
	subtle.XORBytes(secret, kIFD, kIC)
	c.sm = sm.NewSession(sm.TDES, secret, append(append([]byte{}, rndIC[4:]...), rndIFD[4:]...))
	return nil
}
