package store

import (
	"crypto/rand"
	"encoding/hex"
)

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
