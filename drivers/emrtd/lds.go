package emrtd

import (
	"crypto"
	"crypto/rsa"
	"math/big"
	"time"
)

// COM is EF.COM: the LDS version and the data groups present.
type COM struct {
	LDSVersion     string `json:"lds_version"`
	UnicodeVersion string `json:"unicode_version"`
	DataGroups     []int  `json:"data_groups"`
}

// MRZ is the machine readable zone from DG1 (TD1: 3 x 30, TD2: 2 x 36,
// TD3: 2 x 44), every field exposed and every check digit checked.
type MRZ struct {
	Format         string `json:"format"` // "TD1", "TD2", "TD3"
	DocumentCode   string `json:"document_code"`
	IssuingState   string `json:"issuing_state"`
	DocumentNumber string `json:"document_number"`
	OptionalData1  string `json:"optional_data_1"`
	DateOfBirth    string `json:"date_of_birth"` // YYMMDD
	Sex            string `json:"sex"`
	DateOfExpiry   string `json:"date_of_expiry"` // YYMMDD
	Nationality    string `json:"nationality"`
	OptionalData2  string `json:"optional_data_2"`
	PrimaryName    string `json:"primary_name"`
	SecondaryName  string `json:"secondary_name"`
	// CheckDigitErrors names each check digit that does not verify
	// ("document number", "date of birth", "date of expiry", "composite",
	// "optional data"); empty when all verify.
	CheckDigitErrors []string `json:"check_digit_errors,omitempty"`
	Lines            []string `json:"-"`
}

// DG2 is the facial image data group: the image bytes of the first face.
type DG2 struct {
	Format string // "jpeg" or "jpeg2000"
	Width  int
	Height int
	Image  []byte
}

// PACEInfo is one PACE protocol offered in EF.CardAccess.
type PACEInfo struct {
	Protocol    string `json:"protocol"` // dotted OID
	Version     int    `json:"version"`
	ParameterID int    `json:"parameter_id"` // standardized domain parameters, 13 = brainpoolP256r1
	Mapping     string `json:"mapping"`      // "GM", "IM", "CAM"
	Agreement   string `json:"agreement"`    // "ECDH", "DH"
	Cipher      string `json:"cipher"`       // "3DES", "AES-128", "AES-192", "AES-256"
}

// ChipAuthInfo is a ChipAuthenticationInfo from DG14.
type ChipAuthInfo struct {
	Protocol string `json:"protocol"`
	Version  int    `json:"version"`
	KeyID    *big.Int
	Cipher   string `json:"cipher"`
}

// ChipAuthPublicKey is a ChipAuthenticationPublicKeyInfo from DG14.
type ChipAuthPublicKey struct {
	Protocol string
	KeyID    *big.Int
	Key      *PublicKey
}

// SecurityInfos are the parsed contents of EF.CardAccess or DG14.
type SecurityInfos struct {
	PACE            []PACEInfo
	ChipAuth        []ChipAuthInfo
	ChipAuthKeys    []ChipAuthPublicKey
	ActiveAuthHash  string // signature algorithm OID of ActiveAuthenticationInfo, dotted
	TerminalAuth    bool
	UnknownProtocol []string
}

// PublicKey is a key read from the card or a certificate: RSA or EC (any
// named or explicit prime curve, brainpool included).
type PublicKey struct {
	RSA   *rsa.PublicKey
	Curve string // curve name when EC
	ec    *ecPublicKey
}

// ActiveAuthPublicKey is DG15.
type ActiveAuthPublicKey = PublicKey

// Certificate is an X.509 certificate parsed by this package (crypto/x509
// cannot parse brainpool keys).
type Certificate struct {
	Raw                []byte
	RawTBS             []byte
	RawSubject         []byte
	RawIssuer          []byte
	Subject            string
	Issuer             string
	SerialNumber       *big.Int
	NotBefore          time.Time
	NotAfter           time.Time
	PublicKey          *PublicKey
	SignatureAlgorithm string // dotted OID
	SignatureParams    []byte // raw DER of the algorithm parameters (RSA-PSS)
	Signature          []byte
	SubjectKeyID       []byte
	AuthorityKeyID     []byte
	IsCA               bool
}

// SOD is EF.SOD: the LDS security object and its CMS signature.
type SOD struct {
	HashAlgorithm   string         // "SHA-256", ...
	DataGroupHashes map[int][]byte // by data group number
	LDSVersion      string
	Signer          *Certificate // the document signer certificate from the CMS
	Certificates    []*Certificate

	content       []byte // the encapsulated LDSSecurityObject DER
	signedAttrs   []byte // DER of the signed attributes as a SET, or nil
	digestAlg     string
	sigAlg        string
	sigParams     []byte
	signature     []byte
	sidIssuer     []byte
	sidSerial     *big.Int
	sidKeyID      []byte
	messageDigest []byte
	hash          crypto.Hash
}

// TrustStore holds CSCA certificates for passive authentication.
type TrustStore struct {
	certs []*Certificate
}

// NewTrustStore returns an empty trust store.
func NewTrustStore() *TrustStore { return &TrustStore{} }
