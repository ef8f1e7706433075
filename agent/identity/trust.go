package identity

import (
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"motcua-agent/drivers/emrtd"
)

// maxTrustFile caps a file offered to the trust store; the German master list is
// under 1 MB.
const maxTrustFile = 16 << 20

// LoadTrust builds the trust store from the DER certificates in dir (the files
// ImportTrust writes). A missing dir gives an empty store.
func LoadTrust(dir string) (*emrtd.TrustStore, error) {
	ts := emrtd.NewTrustStore()
	if dir == "" {
		return ts, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load trust store: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".der") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("load trust store: %w", err)
		}
		if _, err := ts.AddCertificate(b); err != nil {
			return nil, fmt.Errorf("load trust store: %s: %w", e.Name(), err)
		}
	}
	return ts, nil
}

// ImportTrust adds the CSCA certificates in file (one DER certificate, PEM
// certificates, or an ICAO master list in CMS) to the trust store directory, one DER
// file per certificate named by its SHA-256. It returns how many certificates the
// file held. The master list's own signature is not verified: importing one is a
// decision of the person running the command.
func ImportTrust(dir, file string) (int, error) {
	st, err := os.Stat(file)
	if err != nil {
		return 0, fmt.Errorf("trust import: %w", err)
	}
	if st.Size() > maxTrustFile {
		return 0, fmt.Errorf("trust import: %s is %d bytes, more than %d", file, st.Size(), maxTrustFile)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("trust import: %w", err)
	}
	certs, err := TrustCertificates(b)
	if err != nil {
		return 0, fmt.Errorf("trust import %s: %w", file, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("trust import: %w", err)
	}
	for _, der := range certs {
		sum := sha256.Sum256(der)
		name := filepath.Join(dir, hex.EncodeToString(sum[:8])+".der")
		if err := os.WriteFile(name, der, 0o644); err != nil {
			return 0, fmt.Errorf("trust import: %w", err)
		}
	}
	return len(certs), nil
}

// TrustCertificates extracts the certificates from a DER certificate, PEM text or an
// ICAO CSCA master list, checking that each parses.
func TrustCertificates(b []byte) ([][]byte, error) {
	var certs [][]byte
	if strings.Contains(string(b[:min(len(b), 1024)]), "-----BEGIN") {
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				certs = append(certs, blk.Bytes)
			}
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("no CERTIFICATE block in the PEM text")
		}
	} else if ml, err := masterListCertificates(b); err == nil {
		certs = ml
	} else {
		certs = [][]byte{b}
	}
	for i, der := range certs {
		if _, err := emrtd.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
	}
	return certs, nil
}

// masterListCertificates reads an ICAO CSCA master list (Doc 9303-12): CMS
// SignedData whose content (OID 2.23.136.1.1.2) is CscaMasterList { version,
// certList SET OF Certificate }.
func masterListCertificates(b []byte) ([][]byte, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(b, &ci); err != nil {
		return nil, err
	}
	if !ci.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}) {
		return nil, fmt.Errorf("not CMS SignedData")
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		Encap            struct {
			Type    asn1.ObjectIdentifier
			Content []byte `asn1:"explicit,tag:0"`
		}
		Rest asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("master list SignedData: %w", err)
	}
	if !sd.Encap.Type.Equal(asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}) {
		return nil, fmt.Errorf("SignedData does not hold a CSCA master list")
	}
	var ml struct {
		Version  int
		CertList []asn1.RawValue `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(sd.Encap.Content, &ml); err != nil {
		return nil, fmt.Errorf("CSCA master list: %w", err)
	}
	var out [][]byte
	for _, c := range ml.CertList {
		out = append(out, c.FullBytes)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("CSCA master list holds no certificates")
	}
	return out, nil
}
