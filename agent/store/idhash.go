package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IDHasher turns ID numbers into keyed hashes (HMAC-SHA256 with a per-site secret kept
// outside the database): enough to count unique visitors and de-duplicate, not enough
// to identify anyone without the secret.
type IDHasher struct{ key []byte }

// LoadIDHasher reads the secret at path, creating it (32 random bytes, mode 0600) on
// first run.
func LoadIDHasher(path string) (*IDHasher, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("id secret: create folder: %w", err)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("id secret: create %s: %w", path, err)
		}
		if _, err := f.Write([]byte(hex.EncodeToString(key) + "\n")); err != nil {
			f.Close()
			return nil, fmt.Errorf("id secret: write: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return &IDHasher{key: key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("id secret: read %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("id secret: %s is not a hex key of at least 16 bytes; restore it from backup (a new key would make today's unique counts start again)", path)
	}
	return &IDHasher{key: key}, nil
}

// NewIDHasher uses a given key (tests).
func NewIDHasher(key []byte) *IDHasher { return &IDHasher{key: append([]byte(nil), key...)} }

// Hash returns the keyed hash of an ID number as 64 hex digits. Surrounding spaces
// are ignored so "0010 9901 2345" and "001099012345" hash alike.
func (h *IDHasher) Hash(id string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(strings.Join(strings.Fields(id), "")))
	return hex.EncodeToString(m.Sum(nil))
}
