package simcard

import (
	"crypto"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"motcua-agent/drivers/emrtd/vcard"
)

// Signer is a test document signer and the CSCA that certified it.
type Signer struct {
	Key  crypto.Signer
	Cert []byte // document signer certificate, DER
	CSCA []byte // CSCA certificate, DER
}

// Files in a pki/<name> directory.
const (
	fileCSCA      = "csca.der"
	fileSigner    = "ds.der"
	fileSignerKey = "ds-key.json"
)

type keyFile struct {
	Curve string `json:"curve"`
	D     string `json:"d"` // hex
	Note  string `json:"note"`
}

// LoadSigner reads a pki/<name> directory.
func LoadSigner(dir string) (*Signer, error) {
	var s Signer
	var err error
	if s.CSCA, err = os.ReadFile(filepath.Join(dir, fileCSCA)); err != nil {
		return nil, fmt.Errorf("load test PKI: %w", err)
	}
	if s.Cert, err = os.ReadFile(filepath.Join(dir, fileSigner)); err != nil {
		return nil, fmt.Errorf("load test PKI: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, fileSignerKey))
	if err != nil {
		return nil, fmt.Errorf("load test PKI: %w", err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("load test PKI key: %w", err)
	}
	d, ok := new(big.Int).SetString(kf.D, 16)
	if !ok {
		return nil, fmt.Errorf("load test PKI key: d is not hex")
	}
	s.Key = &vcard.ECPrivateKey{Curve: kf.Curve, D: d}
	return &s, nil
}

func writeSigner(dir string, csca, cert []byte, key *vcard.ECPrivateKey) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	kb, err := json.MarshalIndent(keyFile{Curve: key.Curve, D: hex.EncodeToString(key.D.Bytes()),
		Note: "fictional test document signer key; public on purpose, never trust it"}, "", "  ")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{fileCSCA: csca, fileSigner: cert, fileSignerKey: append(kb, '\n')} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
