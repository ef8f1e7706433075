package vcard

import (
	"crypto"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"motcua-agent/drivers/emrtd"
)

// BuildCOM builds EF.COM listing the data groups (LDS 1.7, Unicode 4.0.0).
func BuildCOM(dataGroups []int) []byte {
	var tags []byte
	for _, n := range dataGroups {
		tags = append(tags, emrtd.DataGroupTag(n))
	}
	body := append(emrtd.EncodeTLV(0x5F01, []byte("0107")), emrtd.EncodeTLV(0x5F36, []byte("040000"))...)
	body = append(body, emrtd.EncodeTLV(0x5C, tags)...)
	return emrtd.EncodeTLV(0x60, body)
}

// BuildDG1 builds DG1 from MRZ text (90 characters for TD1, 88 for TD3,
// line breaks ignored).
func BuildDG1(mrz string) ([]byte, error) {
	mrz = strings.NewReplacer("\n", "", "\r", "").Replace(mrz)
	if _, err := emrtd.ParseMRZ(mrz); err != nil {
		return nil, fmt.Errorf("vcard: DG1: %w", err)
	}
	return emrtd.EncodeTLV(0x61, emrtd.EncodeTLV(0x5F1F, []byte(mrz))), nil
}

func pad(s string, n int) string {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", "<"))
	for len(s) < n {
		s += "<"
	}
	return s[:n]
}

func cd(s string) string { return string(rune('0' + emrtd.CheckDigit(s))) }

// MRZFields are the fields of a TD1 or TD3 MRZ; check digits are computed.
type MRZFields struct {
	DocumentCode   string // "ID", "P<"
	IssuingState   string
	DocumentNumber string // up to 9 characters
	OptionalData1  string
	DateOfBirth    string
	Sex            string
	DateOfExpiry   string
	Nationality    string
	OptionalData2  string // TD1 only
	PrimaryName    string
	SecondaryName  string
}

func (f MRZFields) name(n int) string {
	return pad(f.PrimaryName+"<<"+f.SecondaryName, n)
}

// TD1 returns the three 30-character lines.
func (f MRZFields) TD1() string {
	doc := pad(f.DocumentNumber, 9)
	l1 := pad(f.DocumentCode, 2) + pad(f.IssuingState, 3) + doc + cd(doc) + pad(f.OptionalData1, 15)
	l2 := f.DateOfBirth + cd(f.DateOfBirth) + pad(f.Sex, 1) + f.DateOfExpiry + cd(f.DateOfExpiry) + pad(f.Nationality, 3) + pad(f.OptionalData2, 11)
	l2 += cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return l1 + "\n" + l2 + "\n" + f.name(30)
}

// TD3 returns the two 44-character lines.
func (f MRZFields) TD3() string {
	doc := pad(f.DocumentNumber, 9)
	l1 := pad(f.DocumentCode, 2) + pad(f.IssuingState, 3) + f.name(39)
	opt := pad(f.OptionalData1, 14)
	optCheck := cd(opt)
	if strings.Trim(opt, "<") == "" {
		optCheck = "<"
	}
	l2 := doc + cd(doc) + pad(f.Nationality, 3) + f.DateOfBirth + cd(f.DateOfBirth) + pad(f.Sex, 1) + f.DateOfExpiry + cd(f.DateOfExpiry) + opt + optCheck
	l2 += cd(l2[0:10] + l2[13:20] + l2[21:43])
	return l1 + "\n" + l2
}

// BuildDG2 wraps a JPEG (or JPEG 2000) image in an ISO/IEC 19794-5 facial
// record inside the DG2 biometric templates.
func BuildDG2(image []byte, width, height int) []byte {
	imgType := byte(0) // JPEG
	if len(image) > 4 && (image[0] == 0x00 || image[0] == 0xFF && image[1] == 0x4F) {
		imgType = 1
	}
	facial := make([]byte, 20)
	binary.BigEndian.PutUint32(facial[0:4], uint32(20+12+len(image)))
	info := make([]byte, 12)
	info[0] = 1 // full frontal
	info[1] = imgType
	binary.BigEndian.PutUint16(info[2:4], uint16(width))
	binary.BigEndian.PutUint16(info[4:6], uint16(height))
	record := append([]byte("FAC\x00010\x00"), make([]byte, 6)...)
	binary.BigEndian.PutUint32(record[8:12], uint32(14+20+12+len(image)))
	binary.BigEndian.PutUint16(record[12:14], 1)
	record = append(append(append(record, facial...), info...), image...)
	header := emrtd.EncodeTLV(0xA1, append(emrtd.EncodeTLV(0x80, []byte{1, 1}), emrtd.EncodeTLV(0x87, []byte{1, 1})...))
	tmpl := emrtd.EncodeTLV(0x7F60, append(header, emrtd.EncodeTLV(0x5F2E, record)...))
	group := emrtd.EncodeTLV(0x7F61, append(emrtd.EncodeTLV(0x02, []byte{1}), tmpl...))
	return emrtd.EncodeTLV(0x75, group)
}

type securityInfo struct {
	Protocol asn1.ObjectIdentifier
	Required asn1.RawValue
	Optional asn1.RawValue `asn1:"optional"`
}

func intRaw(n int) asn1.RawValue { return asn1.RawValue{FullBytes: mustMarshal(n)} }

func setOf(infos []securityInfo) []byte {
	var elems [][]byte
	for _, si := range infos {
		elems = append(elems, mustMarshal(si))
	}
	// DER sorts SET OF elements.
	sort.Slice(elems, func(i, j int) bool { return string(elems[i]) < string(elems[j]) })
	var body []byte
	for _, e := range elems {
		body = append(body, e...)
	}
	return emrtd.EncodeTLV(0x31, body)
}

// BuildCardAccess builds EF.CardAccess declaring PACE-ECDH-GM-AES-CBC-CMAC-128
// with the standardized domain parameters paramID (13 = brainpoolP256r1,
// 12 = P-256), plus chip authentication when withCA is set.
func BuildCardAccess(paramID int, withCA bool) []byte {
	infos := []securityInfo{{Protocol: parseOID(emrtd.OIDPACEECDHGMAES128), Required: intRaw(2), Optional: intRaw(paramID)}}
	if withCA {
		infos = append(infos, securityInfo{Protocol: parseOID(emrtd.OIDCAECDHAES128), Required: intRaw(1)})
	}
	return setOf(infos)
}

// BuildDG14 builds DG14 with the chip authentication public key and
// ChipAuthenticationInfo (ECDH, AES-128), and the active authentication
// signature algorithm when aaHash is not 0 (for an EC AA key).
func BuildDG14(caKey *ECPrivateKey, aaHash crypto.Hash) ([]byte, error) {
	var infos []securityInfo
	if caKey != nil {
		der, err := PublicKeyDER(caKey.Public())
		if err != nil {
			return nil, err
		}
		infos = append(infos,
			securityInfo{Protocol: parseOID(emrtd.OIDPKECDH), Required: asn1.RawValue{FullBytes: der}},
			securityInfo{Protocol: parseOID(emrtd.OIDCAECDHAES128), Required: intRaw(1)})
	}
	if aaHash != 0 {
		alg, ok := plainECDSAOID[aaHash]
		if !ok {
			return nil, fmt.Errorf("vcard: DG14: no AA algorithm for %v", aaHash)
		}
		infos = append(infos, securityInfo{Protocol: parseOID("2.23.136.1.1.5"), Required: intRaw(1), Optional: asn1.RawValue{FullBytes: mustMarshal(parseOID(alg))}})
	}
	return emrtd.EncodeTLV(0x6E, setOf(infos)), nil
}

var plainECDSAOID = map[crypto.Hash]string{
	crypto.SHA1:   "0.4.0.127.0.7.1.1.4.1.1",
	crypto.SHA224: "0.4.0.127.0.7.1.1.4.1.2",
	crypto.SHA256: "0.4.0.127.0.7.1.1.4.1.3",
	crypto.SHA384: "0.4.0.127.0.7.1.1.4.1.4",
	crypto.SHA512: "0.4.0.127.0.7.1.1.4.1.5",
}

// BuildDG15 builds DG15 holding the active authentication public key.
func BuildDG15(pub crypto.PublicKey) ([]byte, error) {
	der, err := PublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	return emrtd.EncodeTLV(0x6F, der), nil
}

var hashOID = map[crypto.Hash]string{
	crypto.SHA1:   "1.3.14.3.2.26",
	crypto.SHA224: "2.16.840.1.101.3.4.2.4",
	crypto.SHA256: "2.16.840.1.101.3.4.2.1",
	crypto.SHA384: "2.16.840.1.101.3.4.2.2",
	crypto.SHA512: "2.16.840.1.101.3.4.2.3",
}

func hashAlg(h crypto.Hash) algorithmIdentifier {
	return algorithmIdentifier{Algorithm: parseOID(hashOID[h])}
}

// BuildSOD builds EF.SOD: an LDSSecurityObject with the hash of each data
// group, in CMS SignedData with signed attributes, signed by signer (whose
// certificate, DER, is embedded).
func BuildSOD(h crypto.Hash, dataGroups map[int][]byte, signer crypto.Signer, signerCertDER []byte) ([]byte, error) {
	if _, ok := hashOID[h]; !ok || !h.Available() {
		return nil, fmt.Errorf("vcard: SOD: hash %v not supported", h)
	}
	var nums []int
	for n := range dataGroups {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	type dgHash struct {
		Number int
		Hash   []byte
	}
	var hashes []dgHash
	for _, n := range nums {
		hh := h.New()
		hh.Write(dataGroups[n])
		hashes = append(hashes, dgHash{n, hh.Sum(nil)})
	}
	lso := mustMarshal(struct {
		Version int
		Alg     algorithmIdentifier
		Hashes  []dgHash
	}{0, hashAlg(h), hashes})
	ci, err := buildSignedData("2.23.136.1.1.1", lso, h, signer, signerCertDER)
	if err != nil {
		return nil, fmt.Errorf("vcard: SOD: %w", err)
	}
	return emrtd.EncodeTLV(0x77, ci), nil
}

// BuildMasterList builds an ICAO CSCA master list (CMS SignedData over
// CscaMasterList) holding the CSCA certificates, signed by signer.
func BuildMasterList(cscaCerts [][]byte, h crypto.Hash, signer crypto.Signer, signerCertDER []byte) ([]byte, error) {
	var set []byte
	for _, c := range cscaCerts {
		set = append(set, c...)
	}
	content := emrtd.EncodeTLV(0x30, append(mustMarshal(0), emrtd.EncodeTLV(0x31, set)...))
	return buildSignedData("2.23.136.1.1.2", content, h, signer, signerCertDER)
}

// buildSignedData wraps content in CMS SignedData (ContentInfo) with the
// content-type and message-digest signed attributes.
func buildSignedData(contentType string, content []byte, h crypto.Hash, signer crypto.Signer, signerCertDER []byte) ([]byte, error) {
	cert, err := emrtd.ParseCertificate(signerCertDER)
	if err != nil {
		return nil, fmt.Errorf("signer certificate: %w", err)
	}
	hh := h.New()
	hh.Write(content)
	type attribute struct {
		Type   asn1.ObjectIdentifier
		Values asn1.RawValue
	}
	attrs := []attribute{
		{parseOID("1.2.840.113549.1.9.3"), asn1.RawValue{FullBytes: emrtd.EncodeTLV(0x31, mustMarshal(parseOID(contentType)))}},
		{parseOID("1.2.840.113549.1.9.4"), asn1.RawValue{FullBytes: emrtd.EncodeTLV(0x31, mustMarshal(hh.Sum(nil)))}},
	}
	var attrBody []byte
	for _, a := range attrs {
		attrBody = append(attrBody, mustMarshal(a)...)
	}
	signedAttrs := emrtd.EncodeTLV(0x31, attrBody)
	sig, sigAlg, err := signWith(signer, h, signedAttrs)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sid := mustMarshal(struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}{asn1.RawValue{FullBytes: cert.RawIssuer}, cert.SerialNumber})
	signerInfo := mustMarshal(struct {
		Version     int
		SID         asn1.RawValue
		DigestAlg   algorithmIdentifier
		SignedAttrs asn1.RawValue
		SigAlg      algorithmIdentifier
		Signature   []byte
	}{1, asn1.RawValue{FullBytes: sid}, hashAlg(h), asn1.RawValue{FullBytes: append([]byte{0xA0}, signedAttrs[1:]...)}, sigAlg, sig})
	encap := mustMarshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{parseOID(contentType), asn1.RawValue{FullBytes: emrtd.EncodeTLV(0xA0, mustMarshal(content))}})
	var body []byte
	body = append(body, mustMarshal(3)...)
	body = append(body, emrtd.EncodeTLV(0x31, mustMarshal(hashAlg(h)))...)
	body = append(body, encap...)
	body = append(body, emrtd.EncodeTLV(0xA0, signerCertDER)...)
	body = append(body, emrtd.EncodeTLV(0x31, signerInfo)...)
	signedData := emrtd.EncodeTLV(0x30, body)
	return emrtd.EncodeTLV(0x30, append(mustMarshal(parseOID("1.2.840.113549.1.7.2")), emrtd.EncodeTLV(0xA0, signedData)...)), nil
}
