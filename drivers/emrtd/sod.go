package emrtd

import (
	"bytes"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedDataASN struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContent     struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	Certificates asn1.RawValue `asn1:"optional,tag:0"`
	CRLs         asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos  asn1.RawValue
}

type signerInfoASN struct {
	Version         int
	SID             asn1.RawValue
	DigestAlgorithm algorithmIdentifier
	SignedAttrs     asn1.RawValue `asn1:"optional,tag:0"`
	SigAlg          algorithmIdentifier
	Signature       []byte
	UnsignedAttrs   asn1.RawValue `asn1:"optional,tag:1"`
}

type ldsSecurityObjectASN struct {
	Version       int
	HashAlgorithm algorithmIdentifier
	Hashes        []struct {
		Number int
		Hash   []byte
	}
	VersionInfo struct {
		LDSVersion     string
		UnicodeVersion string
	} `asn1:"optional"`
}

// ParseSOD parses EF.SOD (tag 77 around a CMS ContentInfo with SignedData
// whose content is an LDSSecurityObject). It does not verify anything.
func ParseSOD(b []byte) (*SOD, error) {
	t, err := ParseSingleTLV(b, 0x77)
	if err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	return parseSignedLDS(t.Value)
}

func asn1Err(step string, err error) error {
	return fmt.Errorf("EF.SOD: %s: %w: %v", step, ErrMalformed, err)
}

func parseSignedLDS(der []byte) (*SOD, error) {
	sd, err := parseSignedData(der)
	if err != nil {
		return nil, err
	}
	if sd.EncapContent.Type.String() != oidLDSSecObject {
		return nil, fmt.Errorf("EF.SOD: content type %s is not an LDS security object: %w", sd.EncapContent.Type, ErrMalformed)
	}
	var content []byte
	if _, err := asn1.Unmarshal(sd.EncapContent.Content.Bytes, &content); err != nil {
		return nil, asn1Err("content", err)
	}
	var lso ldsSecurityObjectASN
	if _, err := asn1.Unmarshal(content, &lso); err != nil {
		return nil, asn1Err("LDS security object", err)
	}
	h, ok := hashByOID[lso.HashAlgorithm.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("EF.SOD: hash algorithm %s not supported: %w", lso.HashAlgorithm.Algorithm, ErrMalformed)
	}
	s := &SOD{HashAlgorithm: hashName(h), DataGroupHashes: map[int][]byte{}, hash: h, LDSVersion: lso.VersionInfo.LDSVersion, content: content}
	for _, e := range lso.Hashes {
		if e.Number < 1 || e.Number > 16 || len(e.Hash) != h.Size() {
			return nil, fmt.Errorf("EF.SOD: data group hash entry %d: %w", e.Number, ErrMalformed)
		}
		if _, dup := s.DataGroupHashes[e.Number]; dup {
			return nil, fmt.Errorf("EF.SOD: data group %d hashed twice: %w", e.Number, ErrMalformed)
		}
		s.DataGroupHashes[e.Number] = e.Hash
	}
	if err := sd.fill(s); err != nil {
		return nil, err
	}
	return s, nil
}

type parsedSignedData struct {
	signedDataASN
	certs  []*Certificate
	signer signerInfoASN
}

func parseSignedData(der []byte) (*parsedSignedData, error) {
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, asn1Err("content info", err)
	}
	if ci.ContentType.String() != oidSignedData {
		return nil, fmt.Errorf("EF.SOD: content type %s is not SignedData: %w", ci.ContentType, ErrMalformed)
	}
	p := &parsedSignedData{}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &p.signedDataASN); err != nil {
		return nil, asn1Err("signed data", err)
	}
	rest := p.Certificates.Bytes
	for len(rest) > 0 && len(p.certs) < 16 {
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, asn1Err("certificates", err)
		}
		c, err := ParseCertificate(raw.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("EF.SOD: %w", err)
		}
		p.certs = append(p.certs, c)
	}
	if _, err := asn1.Unmarshal(p.SignerInfos.Bytes, &p.signer); err != nil {
		return nil, asn1Err("signer info", err)
	}
	return p, nil
}

// fill copies the signer information into the SOD and finds the signer
// certificate among the embedded ones.
func (p *parsedSignedData) fill(s *SOD) error {
	si := p.signer
	s.Certificates = p.certs
	s.digestAlg = si.DigestAlgorithm.Algorithm.String()
	s.sigAlg = si.SigAlg.Algorithm.String()
	s.sigParams = si.SigAlg.Parameters.FullBytes
	s.signature = si.Signature
	if len(si.SignedAttrs.FullBytes) > 0 {
		// The signature covers the attributes DER-encoded as a SET.
		s.signedAttrs = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
		var attrs []struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		if _, err := asn1.UnmarshalWithParams(s.signedAttrs, &attrs, "set"); err != nil {
			return asn1Err("signed attributes", err)
		}
		for _, a := range attrs {
			if a.Type.String() == oidMessageDig {
				var d []byte
				if _, err := asn1.Unmarshal(a.Values.Bytes, &d); err != nil {
					return asn1Err("message digest", err)
				}
				s.messageDigest = d
			}
		}
	}
	switch {
	case si.SID.Class == asn1.ClassContextSpecific && si.SID.Tag == 0:
		s.sidKeyID = si.SID.Bytes
	default:
		var ias struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}
		if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
			return asn1Err("signer identifier", err)
		}
		s.sidIssuer, s.sidSerial = ias.Issuer.FullBytes, ias.Serial
	}
	for _, c := range p.certs {
		if s.sidKeyID != nil && bytes.Equal(c.SubjectKeyID, s.sidKeyID) ||
			s.sidSerial != nil && c.SerialNumber != nil && c.SerialNumber.Cmp(s.sidSerial) == 0 && bytes.Equal(c.RawIssuer, s.sidIssuer) {
			s.Signer = c
		}
	}
	return nil
}

// VerifySignature checks the CMS signature of the SOD with its document
// signer certificate (and the message digest attribute when present).
func (s *SOD) VerifySignature() error {
	if s.Signer == nil {
		return fmt.Errorf("EF.SOD: no document signer certificate matches the signer identifier: %w", ErrMalformed)
	}
	h, ok := hashByOID[s.digestAlg]
	if !ok {
		return fmt.Errorf("EF.SOD: digest algorithm %s not supported: %w", s.digestAlg, ErrMalformed)
	}
	signed := s.content
	if s.signedAttrs != nil {
		hh := h.New()
		hh.Write(s.content)
		if subtle.ConstantTimeCompare(hh.Sum(nil), s.messageDigest) != 1 {
			return fmt.Errorf("EF.SOD: message digest attribute does not match the content: %w", errBadSignature)
		}
		signed = s.signedAttrs
	}
	if err := verifySignature(s.Signer.PublicKey, s.sigAlg, s.sigParams, s.digestAlg, signed, s.signature); err != nil {
		return fmt.Errorf("EF.SOD signature: %w", err)
	}
	return nil
}

// VerifyDataGroup compares the hash of a data group's bytes with the SOD's.
func (s *SOD) VerifyDataGroup(n int, data []byte) Check {
	want, ok := s.DataGroupHashes[n]
	if !ok {
		return Check{Status: CheckAbsent, Detail: fmt.Sprintf("DG%d has no hash in the SOD", n)}
	}
	hh := s.hash.New()
	hh.Write(data)
	if subtle.ConstantTimeCompare(hh.Sum(nil), want) == 1 {
		return Check{Status: CheckPassed}
	}
	return Check{Status: CheckFailed, Detail: fmt.Sprintf("DG%d hash does not match the SOD", n)}
}

// passiveAuth runs every passive authentication check on what was read.
func passiveAuth(sod *SOD, groups map[int][]byte, readErrs map[int]error, trust *TrustStore, now time.Time) PassiveAuth {
	pa := PassiveAuth{DataGroupHashes: map[int]Check{}}
	if sod == nil {
		pa.Signature = Check{Status: CheckError, Detail: "no SOD"}
		pa.Chain = ChainError
		pa.ChainDetail = "no SOD"
		return pa
	}
	pa.HashAlgorithm = sod.HashAlgorithm
	var nums []int
	for n := range sod.DataGroupHashes {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if data, ok := groups[n]; ok {
			pa.DataGroupHashes[n] = sod.VerifyDataGroup(n, data)
		} else if err, ok := readErrs[n]; ok {
			pa.DataGroupHashes[n] = Check{Status: CheckError, Detail: "not read: " + err.Error(), Err: err}
		}
	}
	for n := range groups {
		if _, ok := sod.DataGroupHashes[n]; !ok {
			pa.DataGroupHashes[n] = Check{Status: CheckFailed, Detail: fmt.Sprintf("DG%d was read but the SOD has no hash for it", n)}
		}
	}
	if err := sod.VerifySignature(); err != nil {
		status := CheckFailed
		if !isBadSignature(err) {
			status = CheckError
		}
		pa.Signature = Check{Status: status, Detail: err.Error(), Err: err}
	} else {
		pa.Signature = Check{Status: CheckPassed}
	}
	if sod.Signer != nil {
		pa.Signer = sod.Signer.Subject
	}
	pa.Chain, pa.ChainDetail = trust.VerifyChain(sod.Signer, now)
	return pa
}

// isBadSignature tells a signature that does not verify from one that could
// not be checked.
func isBadSignature(err error) bool {
	return errors.Is(err, errBadSignature) || errors.Is(err, rsa.ErrVerification)
}

const oidMasterList = "2.23.136.1.1.2"

// MasterList is an ICAO CSCA master list: the CSCA certificates it carries
// and whether its own CMS signature verified with the embedded signer.
type MasterList struct {
	Certificates []*Certificate
	Signer       *Certificate
	Signature    Check
	Skipped      int // certificates that did not parse (reported, not fatal)
}

// ParseMasterList parses a CSCA master list (CMS SignedData whose content
// is CscaMasterList) and checks its signature with the embedded master list
// signer; the caller decides whether to trust that signer.
func ParseMasterList(der []byte) (*MasterList, error) {
	sd, err := parseSignedData(der)
	if err != nil {
		return nil, fmt.Errorf("master list: %w", err)
	}
	if sd.EncapContent.Type.String() != oidMasterList {
		return nil, fmt.Errorf("master list: content type %s: %w", sd.EncapContent.Type, ErrMalformed)
	}
	var content []byte
	if _, err := asn1.Unmarshal(sd.EncapContent.Content.Bytes, &content); err != nil {
		return nil, fmt.Errorf("master list: content: %w: %v", ErrMalformed, err)
	}
	var ml struct {
		Version int
		Certs   asn1.RawValue
	}
	if _, err := asn1.Unmarshal(content, &ml); err != nil {
		return nil, fmt.Errorf("master list: %w: %v", ErrMalformed, err)
	}
	out := &MasterList{}
	rest := ml.Certs.Bytes
	for len(rest) > 0 {
		var raw asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, fmt.Errorf("master list: certificates: %w: %v", ErrMalformed, err)
		}
		if len(out.Certificates)+out.Skipped >= 10000 {
			return nil, fmt.Errorf("master list: more than 10000 certificates: %w", ErrTooLarge)
		}
		c, err := ParseCertificate(raw.FullBytes)
		if err != nil {
			out.Skipped++
			continue
		}
		out.Certificates = append(out.Certificates, c)
	}
	s := &SOD{content: content}
	if err := sd.fill(s); err != nil {
		return nil, fmt.Errorf("master list: %w", err)
	}
	out.Signer = s.Signer
	if err := s.VerifySignature(); err != nil {
		out.Signature = Check{Status: CheckFailed, Detail: err.Error(), Err: err}
	} else {
		out.Signature = Check{Status: CheckPassed}
	}
	return out, nil
}
