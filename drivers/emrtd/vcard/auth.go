package vcard

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"io"
	"math/big"
	"strconv"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/internal/curve"
	"motcua-agent/drivers/emrtd/internal/sm"
)

// paceState is the chip's side of a PACE run in progress.
type paceState struct {
	protocol string
	cipher   sm.Cipher
	curve    *curve.Curve
	password []byte
	step     int
	nonce    []byte
	mapped   *curve.Curve
	ephSK    *big.Int
	ephPK    []byte
	termPK   []byte
}

func oidString(b []byte) string {
	// Decode an OID's contents (without tag and length).
	var out []byte
	if len(b) == 0 {
		return ""
	}
	first := int(b[0])
	out = append(out, []byte(strconv.Itoa(first/40)+"."+strconv.Itoa(first%40))...)
	n := 0
	for _, c := range b[1:] {
		n = n<<7 | int(c&0x7F)
		if c&0x80 == 0 {
			out = append(out, '.')
			out = append(out, strconv.Itoa(n)...)
			n = 0
		}
		if n > 1<<24 {
			return ""
		}
	}
	return string(out)
}

func (c *Card) manageSecurityEnvironment(cmd sm.Command, protected bool) ([]byte, uint16) {
	dos, err := emrtd.ParseTLVs(cmd.Data)
	if err != nil {
		return nil, 0x6A80
	}
	oid, _ := emrtd.Find(dos, 0x80)
	switch {
	case cmd.P1 == 0xC1 && cmd.P2 == 0xA4: // PACE
		c.pace = nil
		c.session = nil
		info, err := emrtd.ParseCardAccess(c.profile.Files[emrtd.FileCardAccess])
		if err != nil || len(info.PACE) == 0 {
			return nil, 0x6A80
		}
		p := info.PACE[0]
		if oidString(oid.Value) != p.Protocol {
			return nil, 0x6A80
		}
		ref, ok := emrtd.Find(dos, 0x83)
		if !ok || len(ref.Value) != 1 {
			return nil, 0x6A80
		}
		var key emrtd.AccessKey
		switch ref.Value[0] {
		case 1:
			key = emrtd.MRZKey(c.profile.DocumentNumber, c.profile.DateOfBirth, c.profile.DateOfExpiry)
		case 2:
			if c.profile.CAN == "" {
				return nil, 0x6A88
			}
			key = emrtd.CANKey(c.profile.CAN)
		default:
			return nil, 0x6A88
		}
		password, _, err := emrtd.PACEPassword(key)
		if err != nil {
			return nil, 0x6A88
		}
		cipher, _ := sm.CipherByName(p.Cipher)
		c.pace = &paceState{protocol: p.Protocol, cipher: cipher, curve: curve.ByPACEParameterID(p.ParameterID), password: password}
		if c.pace.curve == nil {
			c.pace = nil
			return nil, 0x6A80
		}
		return nil, 0x9000
	case cmd.P1 == 0x41 && cmd.P2 == 0xA4: // chip authentication, AES
		if !protected || c.profile.ChipAuthKey == nil {
			return nil, 0x6985
		}
		c.caProtocol = oidString(oid.Value)
		return nil, 0x9000
	case cmd.P1 == 0x41 && cmd.P2 == 0xA6: // chip authentication, 3DES
		if !protected || c.profile.ChipAuthKey == nil {
			return nil, 0x6985
		}
		pk, ok := emrtd.Find(dos, 0x91)
		if !ok {
			return nil, 0x6A80
		}
		return c.chipAuthenticate(emrtd.OIDCAECDH3DES, pk.Value)
	}
	return nil, 0x6A86
}

func (c *Card) generalAuthenticate(cmd sm.Command, protected bool) ([]byte, uint16) {
	t, err := emrtd.ParseSingleTLV(cmd.Data, 0x7C)
	if err != nil {
		return nil, 0x6A80
	}
	dos, err := t.Children()
	if err != nil {
		return nil, 0x6A80
	}
	if c.caProtocol != "" && protected {
		pk, ok := emrtd.Find(dos, 0x80)
		if !ok {
			return nil, 0x6A80
		}
		proto := c.caProtocol
		c.caProtocol = ""
		return c.chipAuthenticate(proto, pk.Value)
	}
	p := c.pace
	if p == nil {
		return nil, 0x6985
	}
	fail := func(sw uint16) ([]byte, uint16) {
		c.pace = nil
		return nil, sw
	}
	reply := func(tag uint32, v []byte) ([]byte, uint16) {
		p.step++
		return emrtd.EncodeTLV(0x7C, emrtd.EncodeTLV(tag, v)), 0x9000
	}
	switch p.step {
	case 0:
		p.nonce = make([]byte, p.cipher.BlockSize())
		if _, err := io.ReadFull(c.random, p.nonce); err != nil {
			return fail(0x6F00)
		}
		kpi := sm.DeriveKey(p.cipher, p.password, sm.CounterPACE)
		return reply(0x80, sm.Encrypt(p.cipher, kpi, make([]byte, p.cipher.BlockSize()), p.nonce))
	case 1:
		v, ok := emrtd.Find(dos, 0x81)
		if !ok {
			return fail(0x6A80)
		}
		termMap, err := p.curve.Unmarshal(v.Value)
		if err != nil {
			return fail(0x6A80)
		}
		sk, pk, err := p.curve.GenerateKey(c.random)
		if err != nil {
			return fail(0x6F00)
		}
		h := p.curve.ScalarMult(termMap, sk)
		if h.Infinity() {
			return fail(0x6A80)
		}
		p.mapped = p.curve.MapGeneric(new(big.Int).SetBytes(p.nonce), h)
		return reply(0x82, p.curve.Marshal(pk))
	case 2:
		v, ok := emrtd.Find(dos, 0x83)
		if !ok {
			return fail(0x6A80)
		}
		if _, err := p.mapped.Unmarshal(v.Value); err != nil {
			return fail(0x6A80)
		}
		sk, pk, err := p.mapped.GenerateKey(c.random)
		if err != nil {
			return fail(0x6F00)
		}
		p.ephSK, p.ephPK, p.termPK = sk, p.mapped.Marshal(pk), v.Value
		if subtle.ConstantTimeCompare(p.ephPK, p.termPK) == 1 {
			return fail(0x6A80)
		}
		return reply(0x84, p.ephPK)
	case 3:
		v, ok := emrtd.Find(dos, 0x85)
		if !ok {
			return fail(0x6A80)
		}
		termPoint, _ := p.mapped.Unmarshal(p.termPK)
		secret, err := p.mapped.ECDH(p.ephSK, termPoint)
		if err != nil {
			return fail(0x6A80)
		}
		session := sm.NewSession(p.cipher, secret, nil)
		want := sm.Token(p.cipher, session.KSmac, publicKeyObject(p.protocol, p.ephPK))
		if subtle.ConstantTimeCompare(want, v.Value) != 1 {
			return fail(0x6300)
		}
		token := sm.Token(p.cipher, session.KSmac, publicKeyObject(p.protocol, p.termPK))
		c.pace = nil
		c.session = session
		c.smReplies = 0
		return emrtd.EncodeTLV(0x7C, emrtd.EncodeTLV(0x86, token)), 0x9000
	}
	return fail(0x6985)
}

func publicKeyObject(oid string, point []byte) []byte {
	raw := mustMarshal(parseOID(oid))
	return emrtd.EncodeTLV(0x7F49, append(emrtd.EncodeTLV(0x06, raw[2:]), emrtd.EncodeTLV(0x86, point)...))
}

// chipAuthenticate derives new session keys from the terminal's ephemeral
// key and the chip authentication private key. The caller answers under
// the old keys; the new ones apply from the next command.
func (c *Card) chipAuthenticate(protocol string, termPK []byte) ([]byte, uint16) {
	k := c.profile.ChipAuthKey
	cv := k.curve()
	pt, err := cv.Unmarshal(termPK)
	if err != nil {
		return nil, 0x6A80
	}
	secret, err := cv.ECDH(k.D, pt)
	if err != nil {
		return nil, 0x6A80
	}
	cipher := sm.TDES
	if protocol != emrtd.OIDCAECDH3DES {
		cipher = sm.AES128
	}
	c.session = sm.NewSession(cipher, secret, nil)
	if protocol == emrtd.OIDCAECDH3DES {
		return nil, 0x9000
	}
	return emrtd.EncodeTLV(0x7C, nil), 0x9000
}

// internalAuthenticate signs the terminal's challenge with the AA key.
func (c *Card) internalAuthenticate(cmd sm.Command, protected bool) ([]byte, uint16) {
	key := c.profile.ActiveAuthKey
	if key == nil {
		return nil, 0x6D00
	}
	if !protected && !c.profile.AllowPlainAccess {
		return nil, 0x6982
	}
	if len(cmd.Data) != 8 {
		return nil, 0x6700
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return signISO9796(k, cmd.Data, c.random)
	case *ecdsa.PrivateKey:
		h := c.profile.ActiveAuthHash.New()
		h.Write(cmd.Data)
		r, s, err := ecdsa.Sign(c.random, k, h.Sum(nil))
		if err != nil {
			return nil, 0x6F00
		}
		n := (k.Curve.Params().N.BitLen() + 7) / 8
		out := make([]byte, 2*n)
		r.FillBytes(out[:n])
		s.FillBytes(out[n:])
		return out, 0x9000
	case *ECPrivateKey:
		h := c.profile.ActiveAuthHash.New()
		h.Write(cmd.Data)
		sig, err := k.signPlain(c.random, h.Sum(nil))
		if err != nil {
			return nil, 0x6F00
		}
		return sig, 0x9000
	}
	return nil, 0x6F00
}

// signISO9796 is ISO/IEC 9796-2 digital signature scheme 1 with partial
// message recovery and SHA-1 (trailer BC).
func signISO9796(k *rsa.PrivateKey, m2 []byte, random io.Reader) ([]byte, uint16) {
	n := (k.N.BitLen() + 7) / 8
	m1 := make([]byte, n-20-2)
	if _, err := io.ReadFull(random, m1); err != nil {
		return nil, 0x6F00
	}
	h := sm.SHA1(append(append([]byte{}, m1...), m2...))
	f := append(append(append([]byte{0x6A}, m1...), h...), 0xBC)
	s := new(big.Int).Exp(new(big.Int).SetBytes(f), k.D, k.N)
	return s.FillBytes(make([]byte, n)), 0x9000
}
