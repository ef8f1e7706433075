package lodging

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// sealer encrypts the list's personal part for the record with AES-256-GCM, under a key
// kept outside the record (lodging.key_file), so a copy of agent.db alone reads nothing.
type sealer struct{ aead cipher.AEAD }

// loadKey reads the key file, creating it (mode 0600, its folder 0700) with a fresh
// random key when it does not exist.
func loadKey(path string) (*sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("lodging key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("lodging key: %w", err)
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("lodging key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("lodging key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("lodging key: %s holds %d bytes, not a 32-byte key (move it aside to start a new one; the list it sealed is then lost)", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("lodging key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("lodging key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts plain, bound to the entry's id (a sealed part cannot be moved to
// another row).
func (s *sealer) seal(id string, plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte(id))
}

// open decrypts what seal made for id.
func (s *sealer) open(id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("lodging: sealed entry too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return nil, errors.New("lodging: an entry does not open with the key in lodging.key_file")
	}
	return plain, nil
}
