package emrtd

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"

	"motcua-agent/drivers/emrtd/internal/curve"
)

// Object identifiers (dotted) used by the LDS and its PKI.
const (
	oidRSA          = "1.2.840.113549.1.1.1"
	oidRSAPSS       = "1.2.840.113549.1.1.10"
	oidEC           = "1.2.840.10045.2.1"
	oidPrimeField   = "1.2.840.10045.1.1"
	oidSignedData   = "1.2.840.113549.1.7.2"
	oidLDSSecObject = "2.23.136.1.1.1"
	oidMessageDig   = "1.2.840.113549.1.9.4"
	oidContentType  = "1.2.840.113549.1.9.3"
	oidActiveAuth   = "2.23.136.1.1.5"
	oidSKI          = "2.5.29.14"
	oidAKI          = "2.5.29.35"
	oidBasicConstr  = "2.5.29.19"
)

var hashByOID = map[string]crypto.Hash{
	"1.3.14.3.2.26":          crypto.SHA1,
	"2.16.840.1.101.3.4.2.4": crypto.SHA224,
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

// sigAlgs maps signature algorithm OIDs to (key type, hash).
var sigAlgs = map[string]struct {
	ec   bool
	hash crypto.Hash
}{
	"1.2.840.113549.1.1.5":  {false, crypto.SHA1},
	"1.2.840.113549.1.1.14": {false, crypto.SHA224},
	"1.2.840.113549.1.1.11": {false, crypto.SHA256},
	"1.2.840.113549.1.1.12": {false, crypto.SHA384},
	"1.2.840.113549.1.1.13": {false, crypto.SHA512},
	"1.2.840.10045.4.1":     {true, crypto.SHA1},
	"1.2.840.10045.4.3.1":   {true, crypto.SHA224},
	"1.2.840.10045.4.3.2":   {true, crypto.SHA256},
	"1.2.840.10045.4.3.3":   {true, crypto.SHA384},
	"1.2.840.10045.4.3.4":   {true, crypto.SHA512},
	// BSI TR-03111 ecdsa-plain-SHA*, used by ActiveAuthenticationInfo.
	"0.4.0.127.0.7.1.1.4.1.1": {true, crypto.SHA1},
	"0.4.0.127.0.7.1.1.4.1.2": {true, crypto.SHA224},
	"0.4.0.127.0.7.1.1.4.1.3": {true, crypto.SHA256},
	"0.4.0.127.0.7.1.1.4.1.4": {true, crypto.SHA384},
	"0.4.0.127.0.7.1.1.4.1.5": {true, crypto.SHA512},
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA-1"
	case crypto.SHA224:
		return "SHA-224"
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	}
	return "unknown"
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type subjectPublicKeyInfo struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

type ecParameters struct {
	Version int
	FieldID struct {
		FieldType asn1.ObjectIdentifier
		Prime     *big.Int
	}
	Curve struct {
		A    []byte
		B    []byte
		Seed asn1.BitString `asn1:"optional"`
	}
	Base     []byte
	Order    *big.Int
	Cofactor *big.Int `asn1:"optional"`
}

// ecPublicKey is an EC public key on any prime curve.
type ecPublicKey struct {
	curve *curve.Curve
	point curve.Point
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo holding an RSA key or an
// EC key with a named or explicit prime curve.
func ParsePublicKey(der []byte) (*PublicKey, error) {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil {
		return nil, fmt.Errorf("public key: %w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("public key: trailing bytes: %w", ErrMalformed)
	}
	return parseSPKI(spki)
}

func parseSPKI(spki subjectPublicKeyInfo) (*PublicKey, error) {
	switch spki.Algorithm.Algorithm.String() {
	case oidRSA:
		var k struct {
			N *big.Int
			E int
		}
		if _, err := asn1.Unmarshal(spki.PublicKey.Bytes, &k); err != nil {
			return nil, fmt.Errorf("RSA public key: %w: %v", ErrMalformed, err)
		}
		if k.N == nil || k.N.Sign() <= 0 || k.N.BitLen() > 8192 || k.E < 3 {
			return nil, fmt.Errorf("RSA public key: bad modulus or exponent: %w", ErrMalformed)
		}
		return &PublicKey{RSA: &rsa.PublicKey{N: k.N, E: k.E}}, nil
	case oidEC, "0.4.0.127.0.7.2.2.1.2":
		c, err := parseECParams(spki.Algorithm.Parameters)
		if err != nil {
			return nil, err
		}
		p, err := c.Unmarshal(spki.PublicKey.Bytes)
		if err != nil {
			return nil, fmt.Errorf("EC public key: %w", err)
		}
		return &PublicKey{Curve: c.Name, ec: &ecPublicKey{curve: c, point: p}}, nil
	}
	return nil, fmt.Errorf("public key algorithm %s not supported: %w", spki.Algorithm.Algorithm, ErrMalformed)
}

func parseECParams(raw asn1.RawValue) (*curve.Curve, error) {
	if raw.Tag == asn1.TagOID {
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(raw.FullBytes, &oid); err != nil {
			return nil, fmt.Errorf("EC curve: %w: %v", ErrMalformed, err)
		}
		c := curve.ByOID(oid.String())
		if c == nil {
			return nil, fmt.Errorf("EC curve %s not supported: %w", oid, ErrMalformed)
		}
		return c, nil
	}
	var ep ecParameters
	if _, err := asn1.Unmarshal(raw.FullBytes, &ep); err != nil {
		return nil, fmt.Errorf("EC explicit parameters: %w: %v", ErrMalformed, err)
	}
	if ep.FieldID.FieldType.String() != oidPrimeField || ep.FieldID.Prime == nil || ep.Order == nil {
		return nil, fmt.Errorf("EC explicit parameters: not a prime field: %w", ErrMalformed)
	}
	bits := ep.FieldID.Prime.BitLen()
	if bits < 160 || bits > 521 || ep.Order.BitLen() > 522 {
		return nil, fmt.Errorf("EC explicit parameters: field of %d bits: %w", bits, ErrMalformed)
	}
	c := &curve.Curve{Name: "explicit", P: ep.FieldID.Prime, A: new(big.Int).SetBytes(ep.Curve.A), B: new(big.Int).SetBytes(ep.Curve.B), N: ep.Order}
	g, err := (&curve.Curve{P: c.P, A: c.A, B: c.B}).Unmarshal(ep.Base)
	if err != nil {
		return nil, fmt.Errorf("EC explicit parameters: base point: %w", err)
	}
	c.Gx, c.Gy = g.X, g.Y
	if named := curve.Match(c.P, c.A, c.B, c.Gx, c.Gy, c.N); named != nil {
		return named, nil
	}
	if !c.P.ProbablyPrime(8) || !c.N.ProbablyPrime(8) {
		return nil, fmt.Errorf("EC explicit parameters: p or n not prime: %w", ErrMalformed)
	}
	return c, nil
}

// Bits returns the key size in bits.
func (k *PublicKey) Bits() int {
	if k.RSA != nil {
		return k.RSA.N.BitLen()
	}
	if k.ec != nil {
		return k.ec.curve.N.BitLen()
	}
	return 0
}

// verifySignature checks sig over data. alg is the signature algorithm OID;
// when it names only the key type (rsaEncryption, ecPublicKey),
// fallbackHash (a digest OID) says which hash.
func verifySignature(pub *PublicKey, alg string, params []byte, fallbackHash string, data, sig []byte) error {
	var h crypto.Hash
	isPSS := alg == oidRSAPSS
	if a, ok := sigAlgs[alg]; ok {
		h = a.hash
	} else if alg == oidRSA || alg == oidEC || isPSS {
		h = hashByOID[fallbackHash]
	}
	saltLen := rsa.PSSSaltLengthAuto
	if isPSS {
		ph, salt, err := parsePSSParams(params)
		if err != nil {
			return err
		}
		if ph != 0 {
			h = ph
		}
		saltLen = salt
	}
	if h == 0 || !h.Available() {
		return fmt.Errorf("signature algorithm %s not supported: %w", alg, ErrMalformed)
	}
	hh := h.New()
	hh.Write(data)
	digest := hh.Sum(nil)
	switch {
	case pub.RSA != nil && isPSS:
		return rsa.VerifyPSS(pub.RSA, h, digest, sig, &rsa.PSSOptions{SaltLength: saltLen, Hash: h})
	case pub.RSA != nil:
		return rsa.VerifyPKCS1v15(pub.RSA, h, digest, sig)
	case pub.ec != nil:
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
			return fmt.Errorf("ECDSA signature encoding: %w", ErrMalformed)
		}
		if !pub.ec.curve.Verify(pub.ec.point, digest, rs.R, rs.S) {
			return errBadSignature
		}
		return nil
	}
	return fmt.Errorf("no usable public key: %w", ErrMalformed)
}

var errBadSignature = errors.New("signature does not verify")

func parsePSSParams(der []byte) (crypto.Hash, int, error) {
	var p struct {
		Hash       algorithmIdentifier `asn1:"explicit,tag:0,optional"`
		MGF        asn1.RawValue       `asn1:"explicit,tag:1,optional"`
		SaltLength int                 `asn1:"explicit,tag:2,optional,default:20"`
		Trailer    int                 `asn1:"explicit,tag:3,optional,default:1"`
	}
	if len(der) == 0 {
		return crypto.SHA1, 20, nil
	}
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return 0, 0, fmt.Errorf("RSA-PSS parameters: %w: %v", ErrMalformed, err)
	}
	h := crypto.SHA1
	if len(p.Hash.Algorithm) > 0 {
		var ok bool
		if h, ok = hashByOID[p.Hash.Algorithm.String()]; !ok {
			return 0, 0, fmt.Errorf("RSA-PSS hash %s: %w", p.Hash.Algorithm, ErrMalformed)
		}
	}
	return h, p.SaltLength, nil
}

type certificateASN struct {
	TBS       asn1.RawValue
	SigAlg    algorithmIdentifier
	Signature asn1.BitString
}

type tbsASN struct {
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     *big.Int
	SigAlg     algorithmIdentifier
	Issuer     asn1.RawValue
	Validity   struct{ NotBefore, NotAfter time.Time }
	Subject    asn1.RawValue
	SPKI       subjectPublicKeyInfo
	IssuerUID  asn1.BitString `asn1:"optional,tag:1"`
	SubjectUID asn1.BitString `asn1:"optional,tag:2"`
	Extensions []struct {
		ID       asn1.ObjectIdentifier
		Critical bool `asn1:"optional"`
		Value    []byte
	} `asn1:"optional,explicit,tag:3"`
}

// ParseCertificate parses a DER X.509 certificate, brainpool keys included.
func ParseCertificate(der []byte) (*Certificate, error) {
	var c certificateASN
	rest, err := asn1.Unmarshal(der, &c)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("certificate: trailing bytes: %w", ErrMalformed)
	}
	var tbs tbsASN
	if _, err := asn1.Unmarshal(c.TBS.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("certificate body: %w: %v", ErrMalformed, err)
	}
	pub, err := parseSPKI(tbs.SPKI)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	cert := &Certificate{
		Raw: der[:len(der)-len(rest)], RawTBS: c.TBS.FullBytes,
		RawSubject: tbs.Subject.FullBytes, RawIssuer: tbs.Issuer.FullBytes,
		Subject: nameString(tbs.Subject.FullBytes), Issuer: nameString(tbs.Issuer.FullBytes),
		SerialNumber: tbs.Serial, NotBefore: tbs.Validity.NotBefore, NotAfter: tbs.Validity.NotAfter,
		PublicKey: pub, SignatureAlgorithm: c.SigAlg.Algorithm.String(), SignatureParams: c.SigAlg.Parameters.FullBytes,
		Signature: c.Signature.RightAlign(),
	}
	for _, e := range tbs.Extensions {
		switch e.ID.String() {
		case oidSKI:
			var ski []byte
			if _, err := asn1.Unmarshal(e.Value, &ski); err == nil {
				cert.SubjectKeyID = ski
			}
		case oidAKI:
			var aki struct {
				ID []byte `asn1:"optional,tag:0"`
			}
			if _, err := asn1.Unmarshal(e.Value, &aki); err == nil {
				cert.AuthorityKeyID = aki.ID
			}
		case oidBasicConstr:
			var bc struct {
				IsCA bool `asn1:"optional"`
			}
			if _, err := asn1.Unmarshal(e.Value, &bc); err == nil {
				cert.IsCA = bc.IsCA
			}
		}
	}
	return cert, nil
}

func nameString(der []byte) string {
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdn); err != nil {
		return "(unparseable name)"
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// CheckSignatureFrom verifies that parent's key signed c.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	return verifySignature(parent.PublicKey, c.SignatureAlgorithm, c.SignatureParams, "", c.RawTBS, c.Signature)
}

// AddCertificate adds a CSCA certificate (DER) to the store.
func (s *TrustStore) AddCertificate(der []byte) (*Certificate, error) {
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	for _, have := range s.certs {
		if bytes.Equal(have.Raw, c.Raw) {
			return have, nil
		}
	}
	s.certs = append(s.certs, c)
	return c, nil
}

// Certificates returns the store's certificates.
func (s *TrustStore) Certificates() []*Certificate {
	if s == nil {
		return nil
	}
	return append([]*Certificate(nil), s.certs...)
}

// VerifyChain checks the document signer against the store at time now:
// ChainNoAnchor when no CSCA has the signer's issuer as subject,
// ChainTrusted when one of them signed it and both are valid at now,
// ChainUntrusted otherwise (with the reason).
func (s *TrustStore) VerifyChain(signer *Certificate, now time.Time) (ChainStatus, string) {
	if signer == nil {
		return ChainError, "no document signer certificate"
	}
	var candidates []*Certificate
	if s != nil {
		for _, ca := range s.certs {
			if bytes.Equal(ca.RawSubject, signer.RawIssuer) || ca.Subject == signer.Issuer {
				candidates = append(candidates, ca)
			}
		}
	}
	if len(candidates) == 0 {
		return ChainNoAnchor, "no CSCA named " + signer.Issuer + " in the trust store"
	}
	reason := ""
	for _, ca := range candidates {
		if len(signer.AuthorityKeyID) > 0 && len(ca.SubjectKeyID) > 0 && !bytes.Equal(signer.AuthorityKeyID, ca.SubjectKeyID) {
			reason = "key identifier does not match the CSCA's"
			continue
		}
		if err := signer.CheckSignatureFrom(ca); err != nil {
			reason = "signature by CSCA does not verify: " + err.Error()
			continue
		}
		if now.Before(ca.NotBefore) || now.After(ca.NotAfter) {
			reason = "CSCA certificate not valid at " + now.UTC().Format(time.DateOnly)
			continue
		}
		if now.Before(signer.NotBefore) || now.After(signer.NotAfter) {
			reason = "document signer certificate not valid at " + now.UTC().Format(time.DateOnly)
			continue
		}
		return ChainTrusted, "signed by " + ca.Subject
	}
	return ChainUntrusted, reason
}
