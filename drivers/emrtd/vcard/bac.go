package vcard

import (
	"bytes"
	"crypto/subtle"
	"io"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/internal/sm"
)

func (c *Card) getChallenge(cmd sm.Command) ([]byte, uint16) {
	if cmd.Le != 8 {
		return nil, 0x6700
	}
	c.rndIC = make([]byte, 8)
	if _, err := io.ReadFull(c.random, c.rndIC); err != nil {
		return nil, 0x6F00
	}
	return append([]byte(nil), c.rndIC...), 0x9000
}

// externalAuthenticate is the chip's half of BAC mutual authentication.
func (c *Card) externalAuthenticate(cmd sm.Command) ([]byte, uint16) {
	rndIC := c.rndIC
	c.rndIC = nil
	c.session = nil
	if c.profile.DocumentNumber == "" || !c.appletSel {
		return nil, 0x6985
	}
	if rndIC == nil {
		return nil, 0x6985
	}
	if len(cmd.Data) != 40 {
		return nil, 0x6700
	}
	kenc, kmac, err := emrtd.BACKeys(emrtd.MRZKey(c.profile.DocumentNumber, c.profile.DateOfBirth, c.profile.DateOfExpiry))
	if err != nil {
		return nil, 0x6985
	}
	if subtle.ConstantTimeCompare(sm.MAC(sm.TDES, kmac, sm.Pad(cmd.Data[:32], 8)), cmd.Data[32:]) != 1 {
		return nil, 0x6300
	}
	s := sm.Decrypt(sm.TDES, kenc, make([]byte, 8), cmd.Data[:32])
	if !bytes.Equal(s[8:16], rndIC) {
		return nil, 0x6300
	}
	rndIFD, kIFD := s[:8], s[16:32]
	kIC := make([]byte, 16)
	if _, err := io.ReadFull(c.random, kIC); err != nil {
		return nil, 0x6F00
	}
	r := append(append(append([]byte{}, rndIC...), rndIFD...), kIC...)
	eIC := sm.Encrypt(sm.TDES, kenc, make([]byte, 8), r)
	mIC := sm.MAC(sm.TDES, kmac, sm.Pad(eIC, 8))
	secret := make([]byte, 16)
	subtle.XORBytes(secret, kIFD, kIC)
	c.session = sm.NewSession(sm.TDES, secret, append(append([]byte{}, rndIC[4:]...), rndIFD[4:]...))
	return append(eIC, mIC...), 0x9000
}
