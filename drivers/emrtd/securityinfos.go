package emrtd

import (
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
)

type securityInfoASN struct {
	Protocol asn1.ObjectIdentifier
	Required asn1.RawValue
	Optional asn1.RawValue `asn1:"optional"`
}

const (
	oidPACEPrefix = "0.4.0.127.0.7.2.2.4."
	oidCAPrefix   = "0.4.0.127.0.7.2.2.3."
	oidPKPrefix   = "0.4.0.127.0.7.2.2.1."
	oidTAPrefix   = "0.4.0.127.0.7.2.2.2"
)

// Protocol OIDs this package speaks.
const (
	OIDPACEECDHGMAES128 = "0.4.0.127.0.7.2.2.4.2.2"
	OIDCAECDHAES128     = "0.4.0.127.0.7.2.2.3.2.2"
	OIDCAECDH3DES       = "0.4.0.127.0.7.2.2.3.2.1"
	OIDPKECDH           = "0.4.0.127.0.7.2.2.1.2"
)

func cipherName(last string) string {
	switch last {
	case "1":
		return "3DES"
	case "2":
		return "AES-128"
	case "3":
		return "AES-192"
	case "4":
		return "AES-256"
	}
	return "unknown"
}

// ParseCardAccess parses EF.CardAccess (a DER SET OF SecurityInfo).
func ParseCardAccess(b []byte) (*SecurityInfos, error) {
	t, err := ParseSingleTLV(b, 0x31)
	if err != nil {
		return nil, fmt.Errorf("EF.CardAccess: %w", err)
	}
	return parseSecurityInfos(EncodeTLV(0x31, t.Value))
}

// ParseDG14 parses DG14 (tag 6E around a SET OF SecurityInfo).
func ParseDG14(b []byte) (*SecurityInfos, error) {
	t, err := ParseSingleTLV(b, 0x6E)
	if err != nil {
		return nil, fmt.Errorf("DG14: %w", err)
	}
	s, err := parseSecurityInfos(t.Value)
	if err != nil {
		return nil, fmt.Errorf("DG14: %w", err)
	}
	return s, nil
}

func parseSecurityInfos(der []byte) (*SecurityInfos, error) {
	var infos []securityInfoASN
	rest, err := asn1.UnmarshalWithParams(der, &infos, "set")
	if err != nil {
		return nil, fmt.Errorf("security infos: %w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 && !allPadding(rest) {
		return nil, fmt.Errorf("security infos: trailing bytes: %w", ErrMalformed)
	}
	out := &SecurityInfos{}
	for _, si := range infos {
		oid := si.Protocol.String()
		switch {
		case strings.HasPrefix(oid, oidPACEPrefix):
			p := PACEInfo{Protocol: oid}
			parts := strings.Split(strings.TrimPrefix(oid, oidPACEPrefix), ".")
			if len(parts) != 2 {
				continue // PACEDomainParameterInfo and the like
			}
			p.Agreement, p.Mapping = paceMapping(parts[0])
			p.Cipher = cipherName(parts[1])
			if _, err := asn1.Unmarshal(si.Required.FullBytes, &p.Version); err != nil {
				return nil, fmt.Errorf("PACEInfo version: %w: %v", ErrMalformed, err)
			}
			if len(si.Optional.FullBytes) > 0 {
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &p.ParameterID); err != nil {
					return nil, fmt.Errorf("PACEInfo parameter id: %w: %v", ErrMalformed, err)
				}
			}
			out.PACE = append(out.PACE, p)
		case strings.HasPrefix(oid, oidCAPrefix):
			ca := ChipAuthInfo{Protocol: oid, Cipher: cipherName(oid[strings.LastIndexByte(oid, '.')+1:])}
			if _, err := asn1.Unmarshal(si.Required.FullBytes, &ca.Version); err != nil {
				return nil, fmt.Errorf("ChipAuthenticationInfo version: %w: %v", ErrMalformed, err)
			}
			if len(si.Optional.FullBytes) > 0 {
				ca.KeyID = new(big.Int)
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &ca.KeyID); err != nil {
					return nil, fmt.Errorf("ChipAuthenticationInfo key id: %w: %v", ErrMalformed, err)
				}
			}
			out.ChipAuth = append(out.ChipAuth, ca)
		case strings.HasPrefix(oid, oidPKPrefix):
			key, err := ParsePublicKey(si.Required.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("ChipAuthenticationPublicKeyInfo: %w", err)
			}
			pk := ChipAuthPublicKey{Protocol: oid, Key: key}
			if len(si.Optional.FullBytes) > 0 {
				pk.KeyID = new(big.Int)
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &pk.KeyID); err != nil {
					return nil, fmt.Errorf("ChipAuthenticationPublicKeyInfo key id: %w: %v", ErrMalformed, err)
				}
			}
			out.ChipAuthKeys = append(out.ChipAuthKeys, pk)
		case oid == oidActiveAuth:
			if len(si.Optional.FullBytes) > 0 {
				var alg asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(si.Optional.FullBytes, &alg); err != nil {
					return nil, fmt.Errorf("ActiveAuthenticationInfo: %w: %v", ErrMalformed, err)
				}
				out.ActiveAuthHash = alg.String()
			}
		case strings.HasPrefix(oid, oidTAPrefix):
			out.TerminalAuth = true
		default:
			out.UnknownProtocol = append(out.UnknownProtocol, oid)
		}
	}
	return out, nil
}

// ParseDG15 parses DG15 (tag 6F around the active authentication public key).
func ParseDG15(b []byte) (*PublicKey, error) {
	t, err := ParseSingleTLV(b, 0x6F)
	if err != nil {
		return nil, fmt.Errorf("DG15: %w", err)
	}
	k, err := ParsePublicKey(t.Value)
	if err != nil {
		return nil, fmt.Errorf("DG15: %w", err)
	}
	return k, nil
}

// paceMapping names the key agreement and mapping of a PACE OID's
// second-to-last arc.
func paceMapping(arc string) (string, string) {
	switch arc {
	case "1":
		return "DH", "GM"
	case "2":
		return "ECDH", "GM"
	case "3":
		return "DH", "IM"
	case "4":
		return "ECDH", "IM"
	case "6":
		return "ECDH", "CAM"
	}
	return "unknown", "unknown"
}
