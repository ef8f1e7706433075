package vcard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"time"

	_ "crypto/sha256"
	_ "crypto/sha512"
)

var rsaSigOID = map[crypto.Hash]string{
	crypto.SHA1:   "1.2.840.113549.1.1.5",
	crypto.SHA224: "1.2.840.113549.1.1.14",
	crypto.SHA256: "1.2.840.113549.1.1.11",
	crypto.SHA384: "1.2.840.113549.1.1.12",
	crypto.SHA512: "1.2.840.113549.1.1.13",
}

var ecdsaSigOID = map[crypto.Hash]string{
	crypto.SHA1:   "1.2.840.10045.4.1",
	crypto.SHA224: "1.2.840.10045.4.3.1",
	crypto.SHA256: "1.2.840.10045.4.3.2",
	crypto.SHA384: "1.2.840.10045.4.3.3",
	crypto.SHA512: "1.2.840.10045.4.3.4",
}

// signatureAlgorithm names the algorithm signWith uses for the signer.
func signatureAlgorithm(signer crypto.Signer, h crypto.Hash) (algorithmIdentifier, error) {
	switch signer.(type) {
	case *rsa.PrivateKey:
		return algorithmIdentifier{Algorithm: parseOID(rsaSigOID[h]), Parameters: asn1.NullRawValue}, nil
	case *ecdsa.PrivateKey, *ECPrivateKey:
		return algorithmIdentifier{Algorithm: parseOID(ecdsaSigOID[h])}, nil
	case *PSSKey:
		hashAlg := algorithmIdentifier{Algorithm: parseOID(hashOID[h]), Parameters: asn1.NullRawValue}
		params := mustMarshal(struct {
			Hash algorithmIdentifier `asn1:"explicit,tag:0"`
			MGF  algorithmIdentifier `asn1:"explicit,tag:1"`
			Salt int                 `asn1:"explicit,tag:2"`
		}{hashAlg, algorithmIdentifier{Algorithm: parseOID("1.2.840.113549.1.1.8"), Parameters: asn1.RawValue{FullBytes: mustMarshal(hashAlg)}}, h.Size()})
		return algorithmIdentifier{Algorithm: parseOID("1.2.840.113549.1.1.10"), Parameters: asn1.RawValue{FullBytes: params}}, nil
	}
	return algorithmIdentifier{}, fmt.Errorf("signer type %T not supported", signer)
}

// signWith signs data (hashing it with h) and names the algorithm.
func signWith(signer crypto.Signer, h crypto.Hash, data []byte) ([]byte, algorithmIdentifier, error) {
	alg, err := signatureAlgorithm(signer, h)
	if err != nil {
		return nil, alg, err
	}
	hh := h.New()
	hh.Write(data)
	sig, err := signer.Sign(rand.Reader, hh.Sum(nil), h)
	return sig, alg, err
}

// PKIOptions shape a test PKI. Zero values give brainpoolP256r1 keys,
// SHA-256, a CSCA valid 2020-2040 and a document signer valid 2021-2036.
type PKIOptions struct {
	Curve    string // EC curve name for both keys ("P-256", "brainpoolP256r1", "brainpoolP512r1", ...)
	RSABits  int    // when > 0, RSA keys of that size instead of EC
	PSS      bool   // with RSA: sign with RSASSA-PSS instead of PKCS #1 v1.5
	Hash     crypto.Hash
	Country  string
	CSCAName string
	// Validity of the CSCA and of the document signer certificates.
	CSCANotBefore, CSCANotAfter     time.Time
	SignerNotBefore, SignerNotAfter time.Time
}

// TestPKI is a fictional CSCA and a document signer it certified.
type TestPKI struct {
	CSCAKey    crypto.Signer
	CSCACert   []byte // DER
	SignerKey  crypto.Signer
	SignerCert []byte // DER
}

// NewTestPKI generates a CSCA and a document signer certificate.
func NewTestPKI(o PKIOptions) (*TestPKI, error) {
	if o.Curve == "" {
		o.Curve = "brainpoolP256r1"
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.Country == "" {
		o.Country = "VN"
	}
	if o.CSCAName == "" {
		o.CSCAName = "CSCA Test (fictional)"
	}
	if o.CSCANotBefore.IsZero() {
		o.CSCANotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		o.CSCANotAfter = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.SignerNotBefore.IsZero() {
		o.SignerNotBefore = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		o.SignerNotAfter = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	newKey := func() (crypto.Signer, error) {
		if o.RSABits > 0 {
			k, err := rsa.GenerateKey(rand.Reader, o.RSABits)
			if err != nil || !o.PSS {
				return k, err
			}
			return &PSSKey{k}, nil
		}
		return GenerateECKey(o.Curve, rand.Reader)
	}
	cscaKey, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("vcard: CSCA key: %w", err)
	}
	dsKey, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("vcard: document signer key: %w", err)
	}
	cscaName := pkix.Name{Country: []string{o.Country}, Organization: []string{"Fictional Test Authority"}, CommonName: o.CSCAName}
	dsName := pkix.Name{Country: []string{o.Country}, Organization: []string{"Fictional Test Authority"}, CommonName: "Document Signer Test (fictional)"}
	cscaCert, err := CreateCertificate(CertificateTemplate{
		Serial: big.NewInt(1), Subject: cscaName, Issuer: cscaName, NotBefore: o.CSCANotBefore, NotAfter: o.CSCANotAfter,
		IsCA: true, Hash: o.Hash,
	}, cscaKey.Public(), cscaKey)
	if err != nil {
		return nil, err
	}
	dsCert, err := CreateCertificate(CertificateTemplate{
		Serial: big.NewInt(2), Subject: dsName, Issuer: cscaName, NotBefore: o.SignerNotBefore, NotAfter: o.SignerNotAfter,
		Hash: o.Hash, AuthorityPublicKey: cscaKey.Public(),
	}, dsKey.Public(), cscaKey)
	if err != nil {
		return nil, err
	}
	return &TestPKI{CSCAKey: cscaKey, CSCACert: cscaCert, SignerKey: dsKey, SignerCert: dsCert}, nil
}

// CertificateTemplate holds the fields of a certificate to create.
type CertificateTemplate struct {
	Serial              *big.Int
	Subject, Issuer     pkix.Name
	NotBefore, NotAfter time.Time
	IsCA                bool
	Hash                crypto.Hash
	// AuthorityPublicKey, when set, gives the authority key identifier.
	AuthorityPublicKey crypto.PublicKey
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := PublicKeyDER(pub)
	if err != nil {
		return nil
	}
	var s spki
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		return nil
	}
	h := sha1.Sum(s.PublicKey.Bytes)
	return h[:]
}

type extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

// CreateCertificate makes a DER X.509 v3 certificate for pub signed by
// issuerKey; unlike crypto/x509 it handles brainpool keys.
func CreateCertificate(t CertificateTemplate, pub crypto.PublicKey, issuerKey crypto.Signer) ([]byte, error) {
	spkiDER, err := PublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	exts := []extension{{ID: parseOID("2.5.29.14"), Value: mustMarshal(keyID(pub))}}
	if t.AuthorityPublicKey != nil {
		exts = append(exts, extension{ID: parseOID("2.5.29.35"), Value: mustMarshal(struct {
			ID []byte `asn1:"optional,tag:0"`
		}{keyID(t.AuthorityPublicKey)})})
	}
	if t.IsCA {
		exts = append(exts, extension{ID: parseOID("2.5.29.19"), Critical: true, Value: mustMarshal(struct {
			IsCA bool `asn1:"optional"`
		}{true})})
		exts = append(exts, extension{ID: parseOID("2.5.29.15"), Critical: true, Value: mustMarshal(asn1.BitString{Bytes: []byte{0x06}, BitLength: 7})})
	} else {
		exts = append(exts, extension{ID: parseOID("2.5.29.15"), Critical: true, Value: mustMarshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})})
	}
	alg, err := signatureAlgorithm(issuerKey, t.Hash)
	if err != nil {
		return nil, err
	}
	tbs, err := asn1.Marshal(struct {
		Version    int `asn1:"explicit,tag:0"`
		Serial     *big.Int
		SigAlg     algorithmIdentifier
		Issuer     asn1.RawValue
		Validity   struct{ NotBefore, NotAfter time.Time }
		Subject    asn1.RawValue
		SPKI       asn1.RawValue
		Extensions []extension `asn1:"explicit,tag:3"`
	}{2, t.Serial, alg,
		asn1.RawValue{FullBytes: mustMarshal(t.Issuer.ToRDNSequence())},
		struct{ NotBefore, NotAfter time.Time }{t.NotBefore.UTC(), t.NotAfter.UTC()},
		asn1.RawValue{FullBytes: mustMarshal(t.Subject.ToRDNSequence())},
		asn1.RawValue{FullBytes: spkiDER}, exts})
	if err != nil {
		return nil, fmt.Errorf("vcard: certificate body: %w", err)
	}
	sig, alg, err := signWith(issuerKey, t.Hash, tbs)
	if err != nil {
		return nil, fmt.Errorf("vcard: sign certificate: %w", err)
	}
	return asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg algorithmIdentifier
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
}

// PSSKey is an RSA key that signs with RSASSA-PSS (salt as long as the hash).
type PSSKey struct{ *rsa.PrivateKey }

// Sign signs a digest with RSASSA-PSS.
func (k *PSSKey) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return rsa.SignPSS(random, k.PrivateKey, opts.HashFunc(), digest, &rsa.PSSOptions{SaltLength: opts.HashFunc().Size()})
}
