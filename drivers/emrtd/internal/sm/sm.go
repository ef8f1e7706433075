// Package sm is ICAO 9303-11 secure messaging and its key derivation, shared
// by the terminal (drivers/emrtd) and the virtual card (drivers/emrtd/vcard):
// 3DES (retail MAC) and AES (CMAC) ciphers, DO87/97/99/8E wrapping and
// unwrapping in both directions, and the send sequence counter.
//
// It must never return data from a protected message whose MAC has not been
// verified first.
package sm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// Errors of secure messaging.
var (
	ErrMAC       = errors.New("secure messaging: MAC mismatch")
	ErrMalformed = errors.New("secure messaging: malformed protected message")
)

// Cipher is the block cipher family of a secure channel.
type Cipher int

const (
	TDES   Cipher = iota // 2-key 3DES, retail MAC, 8-byte SSC
	AES128               // AES-128, CMAC, 16-byte SSC
	AES192
	AES256
)

// KeyLen is the session key length in bytes.
func (c Cipher) KeyLen() int {
	switch c {
	case AES192:
		return 24
	case AES256:
		return 32
	}
	return 16
}

// BlockSize is the cipher's block size.
func (c Cipher) BlockSize() int {
	if c == TDES {
		return 8
	}
	return 16
}

// KDF counters of 9303-11 §9.7.1.
const (
	CounterEnc  = 1
	CounterMAC  = 2
	CounterPACE = 3
)

// DeriveKey is the 9303-11 key derivation: SHA-1 (3DES, AES-128) or
// SHA-256 (AES-192/256) of the shared secret and a 32-bit counter.
func DeriveKey(c Cipher, secret []byte, counter uint32) []byte {
	data := append(append([]byte(nil), secret...), byte(counter>>24), byte(counter>>16), byte(counter>>8), byte(counter))
	switch c {
	case TDES:
		h := sha1.Sum(data)
		k := append([]byte(nil), h[:16]...)
		adjustParity(k)
		return k
	case AES128:
		h := sha1.Sum(data)
		return h[:16]
	case AES192:
		h := sha256.Sum256(data)
		return h[:24]
	}
	h := sha256.Sum256(data)
	return h[:32]
}

func adjustParity(k []byte) {
	for i, b := range k {
		b &= 0xFE
		ones := 0
		for x := b; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
}

// Pad applies ISO/IEC 9797-1 padding method 2 to a multiple of block bytes.
func Pad(b []byte, block int) []byte {
	out := append(append(make([]byte, 0, len(b)+block), b...), 0x80)
	for len(out)%block != 0 {
		out = append(out, 0)
	}
	return out
}

// Unpad removes ISO/IEC 9797-1 padding method 2.
func Unpad(b []byte) ([]byte, error) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	if i < 0 || b[i] != 0x80 {
		return nil, fmt.Errorf("bad padding: %w", ErrMalformed)
	}
	return b[:i], nil
}

func tdesKey(k []byte) []byte {
	return append(append(append([]byte(nil), k[:8]...), k[8:16]...), k[:8]...)
}

// Encrypt CBC-encrypts data (a multiple of the block size) with the IV.
func Encrypt(c Cipher, key, iv, data []byte) []byte {
	b := newBlock(c, key)
	out := make([]byte, len(data))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, data)
	return out
}

// Decrypt CBC-decrypts data; the caller checks the length is a multiple of
// the block size.
func Decrypt(c Cipher, key, iv, data []byte) []byte {
	b := newBlock(c, key)
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, data)
	return out
}

func newBlock(c Cipher, key []byte) cipher.Block {
	if c == TDES {
		b, err := des.NewTripleDESCipher(tdesKey(key))
		if err != nil {
			panic("sm: 3DES key: " + err.Error()) // key length is fixed by this package
		}
		return b
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		panic("sm: AES key: " + err.Error())
	}
	return b
}

// MAC computes the 8-byte MAC of data that is already padded (3DES: ISO
// 9797-1 MAC algorithm 3; AES: CMAC truncated to 8 bytes).
func MAC(c Cipher, key, data []byte) []byte {
	if c == TDES {
		return retailMAC(key, data)
	}
	return cmac(key, data)[:8]
}

func retailMAC(key, data []byte) []byte {
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:16])
	h := make([]byte, 8)
	for i := 0; i+8 <= len(data); i += 8 {
		subtle.XORBytes(h, h, data[i:i+8])
		k1.Encrypt(h, h)
	}
	k2.Decrypt(h, h)
	k1.Encrypt(h, h)
	return h
}

func cmac(key, data []byte) []byte {
	b, _ := aes.NewCipher(key)
	l := make([]byte, 16)
	b.Encrypt(l, l)
	k1 := shiftXor(l)
	k2 := shiftXor(k1)
	n := (len(data) + 15) / 16
	complete := len(data) > 0 && len(data)%16 == 0
	if n == 0 {
		n = 1
	}
	last := make([]byte, 16)
	if complete {
		subtle.XORBytes(last, data[(n-1)*16:], k1)
	} else {
		copy(last, data[(n-1)*16:])
		last[len(data)-(n-1)*16] = 0x80
		subtle.XORBytes(last, last, k2)
	}
	x := make([]byte, 16)
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x, x, data[i*16:(i+1)*16])
		b.Encrypt(x, x)
	}
	subtle.XORBytes(x, x, last)
	b.Encrypt(x, x)
	return x
}

func shiftXor(in []byte) []byte {
	out := make([]byte, 16)
	var carry byte
	for i := 15; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if in[0]&0x80 != 0 {
		out[15] ^= 0x87
	}
	return out
}

// Session is one secure channel's state: keys and send sequence counter.
// The same type serves both ends; each end increments the SSC before every
// MAC, so the two stay in step.
type Session struct {
	Cipher Cipher
	KSenc  []byte
	KSmac  []byte
	SSC    []byte
}

// NewSession derives session keys from a shared secret (BAC: the XOR of
// K.IFD and K.IC; PACE and CA: the ECDH secret).
func NewSession(c Cipher, secret, ssc []byte) *Session {
	s := &Session{Cipher: c, KSenc: DeriveKey(c, secret, CounterEnc), KSmac: DeriveKey(c, secret, CounterMAC)}
	s.SSC = make([]byte, c.BlockSize())
	copy(s.SSC[len(s.SSC)-len(ssc):], ssc)
	return s
}

func (s *Session) increment() {
	for i := len(s.SSC) - 1; i >= 0; i-- {
		s.SSC[i]++
		if s.SSC[i] != 0 {
			break
		}
	}
}

func (s *Session) iv() []byte {
	bs := s.Cipher.BlockSize()
	if s.Cipher == TDES {
		return make([]byte, bs)
	}
	iv := make([]byte, bs)
	newBlock(s.Cipher, s.KSenc).Encrypt(iv, s.SSC)
	return iv
}

func (s *Session) mac(parts ...[]byte) []byte {
	var m []byte
	m = append(m, s.SSC...)
	for _, p := range parts {
		m = append(m, p...)
	}
	return MAC(s.Cipher, s.KSmac, Pad(m, s.Cipher.BlockSize()))
}

// Command is a parsed command APDU.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Le               int // -1: absent; 256 for short 00, 65536 for extended 0000
	Extended         bool
}

// ParseCommand parses a command APDU of any ISO 7816-4 case, short or
// extended.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("command of %d bytes: %w", len(b), ErrMalformed)
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: -1}
	body := b[4:]
	switch {
	case len(body) == 0:
	case len(body) == 1:
		c.Le = int(body[0])
		if c.Le == 0 {
			c.Le = 256
		}
	case body[0] != 0 || len(body) < 3:
		n := int(body[0])
		switch len(body) {
		case 1 + n:
			c.Data = body[1:]
		case 2 + n:
			c.Data = body[1 : 1+n]
			c.Le = int(body[1+n])
			if c.Le == 0 {
				c.Le = 256
			}
		default:
			return Command{}, fmt.Errorf("short Lc %d with %d body bytes: %w", n, len(body), ErrMalformed)
		}
	default:
		c.Extended = true
		if len(body) == 3 {
			c.Le = int(body[1])<<8 | int(body[2])
			if c.Le == 0 {
				c.Le = 65536
			}
			break
		}
		n := int(body[1])<<8 | int(body[2])
		switch len(body) {
		case 3 + n:
			c.Data = body[3:]
		case 5 + n:
			c.Data = body[3 : 3+n]
			c.Le = int(body[3+n])<<8 | int(body[4+n])
			if c.Le == 0 {
				c.Le = 65536
			}
		default:
			return Command{}, fmt.Errorf("extended Lc %d with %d body bytes: %w", n, len(body), ErrMalformed)
		}
	}
	return c, nil
}

// Encode builds the APDU, extended when the data or Le need it or Extended is set.
func (c Command) Encode() []byte {
	ext := c.Extended || len(c.Data) > 255 || c.Le > 256
	out := []byte{c.CLA, c.INS, c.P1, c.P2}
	if len(c.Data) > 0 {
		if ext {
			out = append(out, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		} else {
			out = append(out, byte(len(c.Data)))
		}
		out = append(out, c.Data...)
	}
	if c.Le >= 0 {
		switch {
		case ext && len(c.Data) > 0:
			out = append(out, byte(c.Le>>8), byte(c.Le))
		case ext:
			out = append(out, 0, byte(c.Le>>8), byte(c.Le))
		default:
			out = append(out, byte(c.Le))
		}
	}
	return out
}

func encodeLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	}
	return []byte{0x82, byte(n >> 8), byte(n)}
}

func do(tag byte, v []byte) []byte {
	return append(append([]byte{tag}, encodeLen(len(v))...), v...)
}

// leBytes encodes Le for DO97: one byte when short, two when extended.
func leBytes(le int, ext bool) []byte {
	if ext {
		return []byte{byte(le >> 8), byte(le)}
	}
	return []byte{byte(le)}
}

// Protect wraps a plain command for sending (terminal side).
func (s *Session) Protect(c Command) []byte {
	s.increment()
	bs := s.Cipher.BlockSize()
	header := Pad([]byte{c.CLA | 0x0C, c.INS, c.P1, c.P2}, bs)
	var do87, do97 []byte
	if len(c.Data) > 0 {
		do87 = s.dataDO(c.INS, c.Data)
	}
	ext := c.Extended || c.Le > 256
	if c.Le >= 0 {
		do97 = do(0x97, leBytes(c.Le, ext))
	}
	mac := s.mac(header, do87, do97)
	body := append(append(append([]byte{}, do87...), do97...), do(0x8E, mac)...)
	le := 256
	if ext {
		le = 65536
	}
	return Command{CLA: c.CLA | 0x0C, INS: c.INS, P1: c.P1, P2: c.P2, Data: body, Le: le, Extended: ext || len(body) > 255}.Encode()
}

// parseDOs splits the SM data objects, rejecting unknown or repeated ones.
func parseDOs(b []byte, allowed string) (map[byte][]byte, error) {
	out := map[byte][]byte{}
	for len(b) > 0 {
		tag := b[0]
		if strings.IndexByte(allowed, tag) < 0 {
			return nil, fmt.Errorf("unexpected data object %02X: %w", tag, ErrMalformed)
		}
		if _, dup := out[tag]; dup {
			return nil, fmt.Errorf("repeated data object %02X: %w", tag, ErrMalformed)
		}
		if len(b) < 2 {
			return nil, fmt.Errorf("data object %02X truncated: %w", tag, ErrMalformed)
		}
		n, used := 0, 0
		switch {
		case b[1] < 0x80:
			n, used = int(b[1]), 1
		case b[1] == 0x81 && len(b) >= 3:
			n, used = int(b[2]), 2
		case b[1] == 0x82 && len(b) >= 4:
			n, used = int(b[2])<<8|int(b[3]), 3
		default:
			return nil, fmt.Errorf("data object %02X: bad length: %w", tag, ErrMalformed)
		}
		if n > len(b)-1-used {
			return nil, fmt.Errorf("data object %02X: length %d beyond message: %w", tag, n, ErrMalformed)
		}
		out[tag] = b[1+used : 1+used+n]
		b = b[1+used+n:]
	}
	return out, nil
}

// rawDO returns the encoded data object for tag from the parsed map, or nil.
func rawDO(m map[byte][]byte, tag byte) []byte {
	v, ok := m[tag]
	if !ok {
		return nil
	}
	return do(tag, v)
}

// dataDO encrypts data into DO87 (padding-content indicator 01), or DO85
// (no indicator) for an odd INS, whose data is BER-TLV encoded.
func (s *Session) dataDO(ins byte, data []byte) []byte {
	enc := Encrypt(s.Cipher, s.KSenc, s.iv(), Pad(data, s.Cipher.BlockSize()))
	if ins&1 == 1 {
		return do(0x85, enc)
	}
	return do(0x87, append([]byte{0x01}, enc...))
}

// dataFrom returns the raw DO87 or DO85 (for the MAC) and decrypts it; at
// most one of them may be present.
func (s *Session) dataFrom(dos map[byte][]byte) (raw []byte, data func() ([]byte, error), err error) {
	v87, has87 := dos[0x87]
	v85, has85 := dos[0x85]
	bs := s.Cipher.BlockSize()
	switch {
	case has87 && has85:
		return nil, nil, fmt.Errorf("both DO85 and DO87: %w", ErrMalformed)
	case has87:
		return do(0x87, v87), func() ([]byte, error) {
			if len(v87) < 1+bs || v87[0] != 0x01 || (len(v87)-1)%bs != 0 {
				return nil, fmt.Errorf("DO87 of %d bytes: %w", len(v87), ErrMalformed)
			}
			return Unpad(Decrypt(s.Cipher, s.KSenc, s.iv(), v87[1:]))
		}, nil
	case has85:
		return do(0x85, v85), func() ([]byte, error) {
			if len(v85) < bs || len(v85)%bs != 0 {
				return nil, fmt.Errorf("DO85 of %d bytes: %w", len(v85), ErrMalformed)
			}
			return Unpad(Decrypt(s.Cipher, s.KSenc, s.iv(), v85))
		}, nil
	}
	return nil, func() ([]byte, error) { return nil, nil }, nil
}

// Unprotect checks and unwraps a protected response (terminal side) and
// returns the plain data and status word. The MAC is verified before
// anything else in the response is used; a response that is a bare status
// word (the card dropped secure messaging) is returned as that status word
// with no data.
func (s *Session) Unprotect(resp []byte) ([]byte, uint16, error) {
	if len(resp) < 2 {
		return nil, 0, fmt.Errorf("response of %d bytes: %w", len(resp), ErrMalformed)
	}
	sw := uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])
	body := resp[:len(resp)-2]
	s.increment()
	if len(body) == 0 {
		return nil, sw, nil
	}
	dos, err := parseDOs(body, "\x85\x87\x99\x8E")
	if err != nil {
		return nil, 0, err
	}
	mac, ok := dos[0x8E]
	if !ok {
		return nil, 0, fmt.Errorf("no DO8E: %w", ErrMalformed)
	}
	rawData, decrypt, err := s.dataFrom(dos)
	if err != nil {
		return nil, 0, err
	}
	expect := s.mac(rawData, rawDO(dos, 0x99))
	if len(mac) != 8 || subtle.ConstantTimeCompare(mac, expect) != 1 {
		return nil, 0, ErrMAC
	}
	if v, ok := dos[0x99]; ok {
		if len(v) != 2 {
			return nil, 0, fmt.Errorf("DO99 of %d bytes: %w", len(v), ErrMalformed)
		}
		sw = uint16(v[0])<<8 | uint16(v[1])
	}
	data, err := decrypt()
	if err != nil {
		return nil, 0, err
	}
	return data, sw, nil
}

// UnprotectCommand checks and unwraps a protected command (card side).
func (s *Session) UnprotectCommand(b []byte) (Command, error) {
	c, err := ParseCommand(b)
	if err != nil {
		return Command{}, err
	}
	if c.CLA&0x0C != 0x0C {
		return Command{}, fmt.Errorf("command not protected: %w", ErrMalformed)
	}
	s.increment()
	dos, err := parseDOs(c.Data, "\x85\x87\x97\x8E")
	if err != nil {
		return Command{}, err
	}
	mac, ok := dos[0x8E]
	if !ok {
		return Command{}, fmt.Errorf("no DO8E: %w", ErrMalformed)
	}
	rawData, decrypt, err := s.dataFrom(dos)
	if err != nil {
		return Command{}, err
	}
	header := Pad([]byte{c.CLA, c.INS, c.P1, c.P2}, s.Cipher.BlockSize())
	expect := s.mac(header, rawData, rawDO(dos, 0x97))
	if len(mac) != 8 || subtle.ConstantTimeCompare(mac, expect) != 1 {
		return Command{}, ErrMAC
	}
	plain := Command{CLA: c.CLA &^ 0x0C, INS: c.INS, P1: c.P1, P2: c.P2, Le: -1}
	if v, ok := dos[0x97]; ok {
		switch len(v) {
		case 1:
			plain.Le = int(v[0])
			if plain.Le == 0 {
				plain.Le = 256
			}
		case 2:
			plain.Le = int(v[0])<<8 | int(v[1])
			if plain.Le == 0 {
				plain.Le = 65536
			}
			plain.Extended = true
		default:
			return Command{}, fmt.Errorf("DO97 of %d bytes: %w", len(v), ErrMalformed)
		}
	}
	if plain.Data, err = decrypt(); err != nil {
		return Command{}, err
	}
	return plain, nil
}

// ProtectResponse wraps response data and status word (card side).
func (s *Session) ProtectResponse(data []byte, sw uint16) []byte {
	return s.ProtectResponseTo(0, data, sw)
}

// ProtectResponseTo wraps the response to a command with that INS: an odd
// INS answers in DO85.
func (s *Session) ProtectResponseTo(ins byte, data []byte, sw uint16) []byte {
	s.increment()
	var do87 []byte
	if len(data) > 0 {
		do87 = s.dataDO(ins, data)
	}
	do99 := do(0x99, []byte{byte(sw >> 8), byte(sw)})
	mac := s.mac(do87, do99)
	out := append(append(append([]byte{}, do87...), do99...), do(0x8E, mac)...)
	return append(out, byte(sw>>8), byte(sw))
}

// Token is the PACE authentication token MAC: for AES a CMAC of the data
// itself, for 3DES the retail MAC of the padded data.
func Token(c Cipher, key, data []byte) []byte {
	if c == TDES {
		return retailMAC(key, Pad(data, 8))
	}
	return cmac(key, data)[:8]
}

// CipherByName maps "3DES", "AES-128", "AES-192", "AES-256".
func CipherByName(name string) (Cipher, bool) {
	switch name {
	case "3DES":
		return TDES, true
	case "AES-128":
		return AES128, true
	case "AES-192":
		return AES192, true
	case "AES-256":
		return AES256, true
	}
	return 0, false
}

// SHA1 is SHA-1 of b (for ISO 9796-2 on the virtual card).
func SHA1(b []byte) []byte {
	h := sha1.Sum(b)
	return h[:]
}
