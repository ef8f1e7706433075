// Package curve is short Weierstrass elliptic curve arithmetic over prime
// fields with any coefficient a, for the curves eMRTDs use that the standard
// library lacks (brainpool) as well as the NIST ones: point operations,
// encoding, ECDH, ECDSA and the PACE generic mapping.
//
// It is variable-time math/big code: fine for a terminal verifying a card and
// for a test card, never for guarding long-term secrets on a server.
package curve

import (
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// Curve holds domain parameters y^2 = x^3 + ax + b over GF(p), base point G
// of order n.
type Curve struct {
	Name    string
	P, A, B *big.Int
	Gx, Gy  *big.Int
	N       *big.Int
	OID     string // named-curve OID, dotted
}

// ByteLen is the length of one field element.
func (c *Curve) ByteLen() int { return (c.P.BitLen() + 7) / 8 }

// Point is an affine point; nil X means the point at infinity.
type Point struct{ X, Y *big.Int }

// Infinity reports whether p is the point at infinity.
func (p Point) Infinity() bool { return p.X == nil }

func hexInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("curve: bad constant " + s)
	}
	return v
}

func fromStd(name, oid string, c elliptic.Curve) *Curve {
	p := c.Params()
	return &Curve{Name: name, OID: oid, P: p.P, A: new(big.Int).Sub(p.P, big.NewInt(3)), B: p.B, Gx: p.Gx, Gy: p.Gy, N: p.N}
}

// brainpool builds an r1 curve from its twisted t1 form (a = -3): with the
// isomorphism (x, y) -> (x z^2, y z^3), a = -3 z^-4 and b = b_t z^-6.
func brainpool(name, oid, p, n, bt, gx, gy, z string) *Curve {
	P := hexInt(p)
	zinv := new(big.Int).ModInverse(hexInt(z), P)
	zinv2 := new(big.Int).Mul(zinv, zinv)
	zinv4 := new(big.Int).Mul(zinv2, zinv2)
	a := new(big.Int).Mul(big.NewInt(-3), zinv4)
	a.Mod(a, P)
	zinv6 := new(big.Int).Mul(zinv4, zinv2)
	b := new(big.Int).Mul(hexInt(bt), zinv6)
	b.Mod(b, P)
	return &Curve{Name: name, OID: oid, P: P, A: a, B: b, Gx: hexInt(gx), Gy: hexInt(gy), N: hexInt(n)}
}

// Named curves.
var (
	P256 = fromStd("P-256", "1.2.840.10045.3.1.7", elliptic.P256())
	P384 = fromStd("P-384", "1.3.132.0.34", elliptic.P384())
	P521 = fromStd("P-521", "1.3.132.0.35", elliptic.P521())

	BrainpoolP256r1 = brainpool("brainpoolP256r1", "1.3.36.3.3.2.8.1.1.7",
		"A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
		"A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
		"662C61C430D84EA4FE66A7733D0B76B7BF93EBC4AF2F49256AE58101FEE92B04",
		"8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
		"547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
		"3E2D4BD9597B58639AE7AA669CAB9837CF5CF20A2C852D10F655668DFC150EF0")
	BrainpoolP384r1 = brainpool("brainpoolP384r1", "1.3.36.3.3.2.8.1.1.11",
		"8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
		"8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
		"7F519EADA7BDA81BD826DBA647910F8C4B9346ED8CCDC64E4B1ABD11756DCE1D2074AA263B88805CED70355A33B471EE",
		"1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
		"8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
		"41DFE8DD399331F7166A66076734A89CD0D2BCDB7D068E44E1F378F41ECBAE97D2D63DBC87BCCDDCCC5DA39E8589291C")
	BrainpoolP512r1 = brainpool("brainpoolP512r1", "1.3.36.3.3.2.8.1.1.13",
		"AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
		"AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
		"7CBBBCF9441CFAB76E1890E46884EAE321F70C0BCB4981527897504BEC3E36A62BCDFA2304976540F6450085F2DAE145C22553B465763689180EA2571867423E",
		"81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
		"7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
		"12EE58E6764838B69782136F0F2D3BA06E27695716054092E60A80BEDB212B64E585D90BCE13761F85C3F1D2A64E3BE8FEA2220F01EBA5EEB0F35DBD29D922AB")
)

// All lists the named curves.
var All = []*Curve{P256, P384, P521, BrainpoolP256r1, BrainpoolP384r1, BrainpoolP512r1}

// ByOID returns the named curve with that dotted OID.
func ByOID(oid string) *Curve {
	for _, c := range All {
		if c.OID == oid {
			return c
		}
	}
	return nil
}

// ByName returns the named curve (case-insensitive).
func ByName(name string) *Curve {
	for _, c := range All {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// ByPACEParameterID returns the curve of an ICAO standardized domain
// parameter id (9303-11 table 6).
func ByPACEParameterID(id int) *Curve {
	switch id {
	case 12:
		return P256
	case 13:
		return BrainpoolP256r1
	case 15:
		return P384
	case 16:
		return BrainpoolP384r1
	case 17:
		return BrainpoolP512r1
	case 18:
		return P521
	}
	return nil
}

// Match returns the named curve with the same p, a, b and G (for keys with
// explicit parameters), or nil.
func Match(p, a, b, gx, gy, n *big.Int) *Curve {
	for _, c := range All {
		if c.P.Cmp(p) == 0 && c.A.Cmp(a) == 0 && c.B.Cmp(b) == 0 && c.Gx.Cmp(gx) == 0 && c.Gy.Cmp(gy) == 0 && c.N.Cmp(n) == 0 {
			return c
		}
	}
	return nil
}

// G returns the base point.
func (c *Curve) G() Point { return Point{c.Gx, c.Gy} }

// OnCurve reports whether p is a finite point on the curve.
func (c *Curve) OnCurve(p Point) bool {
	if p.Infinity() || p.X.Sign() < 0 || p.Y.Sign() < 0 || p.X.Cmp(c.P) >= 0 || p.Y.Cmp(c.P) >= 0 {
		return false
	}
	l := new(big.Int).Mul(p.Y, p.Y)
	l.Mod(l, c.P)
	r := new(big.Int).Mul(p.X, p.X)
	r.Add(r, c.A)
	r.Mul(r, p.X)
	r.Add(r, c.B)
	r.Mod(r, c.P)
	return l.Cmp(r) == 0
}

// Add returns p + q.
func (c *Curve) Add(p, q Point) Point {
	if p.Infinity() {
		return q
	}
	if q.Infinity() {
		return p
	}
	if p.X.Cmp(q.X) == 0 {
		if p.Y.Cmp(q.Y) == 0 && p.Y.Sign() != 0 {
			return c.Double(p)
		}
		return Point{}
	}
	num := new(big.Int).Sub(q.Y, p.Y)
	den := new(big.Int).Sub(q.X, p.X)
	den.Mod(den, c.P)
	den.ModInverse(den, c.P)
	l := num.Mul(num, den)
	l.Mod(l, c.P)
	return c.finish(l, p, q.X)
}

// Double returns 2p.
func (c *Curve) Double(p Point) Point {
	if p.Infinity() || p.Y.Sign() == 0 {
		return Point{}
	}
	num := new(big.Int).Mul(p.X, p.X)
	num.Mul(num, big.NewInt(3))
	num.Add(num, c.A)
	den := new(big.Int).Lsh(p.Y, 1)
	den.Mod(den, c.P)
	den.ModInverse(den, c.P)
	l := num.Mul(num, den)
	l.Mod(l, c.P)
	return c.finish(l, p, p.X)
}

func (c *Curve) finish(l *big.Int, p Point, qx *big.Int) Point {
	x := new(big.Int).Mul(l, l)
	x.Sub(x, p.X)
	x.Sub(x, qx)
	x.Mod(x, c.P)
	y := new(big.Int).Sub(p.X, x)
	y.Mul(y, l)
	y.Sub(y, p.Y)
	y.Mod(y, c.P)
	return Point{x, y}
}

// ScalarMult returns k*p.
func (c *Curve) ScalarMult(p Point, k *big.Int) Point {
	r := Point{}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = c.Double(r)
		if k.Bit(i) == 1 {
			r = c.Add(r, p)
		}
	}
	return r
}

// Marshal encodes a point uncompressed (04 || X || Y).
func (c *Curve) Marshal(p Point) []byte {
	n := c.ByteLen()
	out := make([]byte, 1+2*n)
	out[0] = 4
	p.X.FillBytes(out[1 : 1+n])
	p.Y.FillBytes(out[1+n:])
	return out
}

// Unmarshal decodes an uncompressed point and checks it is on the curve.
func (c *Curve) Unmarshal(b []byte) (Point, error) {
	n := c.ByteLen()
	if len(b) != 1+2*n || b[0] != 4 {
		return Point{}, fmt.Errorf("curve %s: point of %d bytes is not uncompressed: %w", c.Name, len(b), ErrInvalidPoint)
	}
	p := Point{new(big.Int).SetBytes(b[1 : 1+n]), new(big.Int).SetBytes(b[1+n:])}
	if !c.OnCurve(p) {
		return Point{}, fmt.Errorf("curve %s: %w", c.Name, ErrInvalidPoint)
	}
	return p, nil
}

// ErrInvalidPoint is a point not on the curve or badly encoded.
var ErrInvalidPoint = errors.New("invalid curve point")

// GenerateKey returns a private scalar in [1, n-1] and its public point.
func (c *Curve) GenerateKey(r io.Reader) (*big.Int, Point, error) {
	if r == nil {
		r = rand.Reader
	}
	for {
		d, err := rand.Int(r, c.N)
		if err != nil {
			return nil, Point{}, err
		}
		if d.Sign() > 0 {
			return d, c.ScalarMult(c.G(), d), nil
		}
	}
}

// ECDH returns the x coordinate of d*Q (the shared secret), after checking Q.
func (c *Curve) ECDH(d *big.Int, q Point) ([]byte, error) {
	if !c.OnCurve(q) {
		return nil, ErrInvalidPoint
	}
	s := c.ScalarMult(q, d)
	if s.Infinity() {
		return nil, ErrInvalidPoint
	}
	return s.X.FillBytes(make([]byte, c.ByteLen())), nil
}

// MapGeneric is the PACE generic mapping: G' = s*G + H.
func (c *Curve) MapGeneric(s *big.Int, h Point) *Curve {
	g := c.Add(c.ScalarMult(c.G(), s), h)
	m := *c
	m.Name = c.Name + " (mapped)"
	m.OID = ""
	m.Gx, m.Gy = g.X, g.Y
	return &m
}

func (c *Curve) hashToInt(digest []byte) *big.Int {
	bits := c.N.BitLen()
	if len(digest)*8 > bits {
		digest = digest[:(bits+7)/8]
	}
	e := new(big.Int).SetBytes(digest)
	if excess := len(digest)*8 - bits; excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e
}

// Sign produces an ECDSA signature (r, s) of a digest.
func (c *Curve) Sign(r io.Reader, d *big.Int, digest []byte) (*big.Int, *big.Int, error) {
	e := c.hashToInt(digest)
	for {
		k, kp, err := c.GenerateKey(r)
		if err != nil {
			return nil, nil, err
		}
		rr := new(big.Int).Mod(kp.X, c.N)
		if rr.Sign() == 0 {
			continue
		}
		s := new(big.Int).Mul(rr, d)
		s.Add(s, e)
		s.Mul(s, new(big.Int).ModInverse(k, c.N))
		s.Mod(s, c.N)
		if s.Sign() != 0 {
			return rr, s, nil
		}
	}
}

// Verify checks an ECDSA signature (r, s) of a digest by the public point q.
func (c *Curve) Verify(q Point, digest []byte, r, s *big.Int) bool {
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.N) >= 0 || s.Cmp(c.N) >= 0 || !c.OnCurve(q) {
		return false
	}
	e := c.hashToInt(digest)
	w := new(big.Int).ModInverse(s, c.N)
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, c.N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, c.N)
	x := c.Add(c.ScalarMult(c.G(), u1), c.ScalarMult(q, u2))
	if x.Infinity() {
		return false
	}
	v := new(big.Int).Mod(x.X, c.N)
	return v.Cmp(r) == 0
}
