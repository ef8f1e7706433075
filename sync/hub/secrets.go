package hub

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"motcua-agent/sync/hub/store"
)

// Device secrets are kept sealed with AES-256-GCM under a key in a file beside the
// database (mode 0600), never in it: a copy of hub.db alone does not let anyone sign
// pushes. The device name is the additional data, so a sealed secret moved to another
// device's row does not open.

const sealedPrefix = "v1:"

// secretBox seals and opens device secrets.
type secretBox struct{ aead cipher.AEAD }

// KeyFile is where Open keeps the key of a database's device secrets by default.
func KeyFile(dbPath string) string { return dbPath + ".key" }

// ErrKeyMissing means the database holds sealed secrets and their key file is gone.
var ErrKeyMissing = errors.New("the key of the device secrets is missing")

// loadSecretBox reads the key at path, creating it when absent; sealed says whether the
// database already holds sealed secrets (then a missing key is an error, never replaced).
func loadSecretBox(path string, sealed bool) (*secretBox, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if sealed {
			return nil, fmt.Errorf("%w: %s (restore it from the backup taken with the database; otherwise revoke and enroll every agent again)", ErrKeyMissing, path)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("device secret key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create device secret key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write device secret key %s: %w", path, err)
		}
		return newSecretBox(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read device secret key %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("device secret key %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("device secret key %s: want 64 hex digits", path)
	}
	return newSecretBox(key)
}

func newSecretBox(key []byte) (*secretBox, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

// seal turns a hex secret into its stored form.
func (b *secretBox) seal(device, secret string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(secret), []byte(device))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// open turns a stored secret back into hex; a plain secret from before sealing is
// returned as it is (Open seals those).
func (b *secretBox) open(device, stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	n := b.aead.NonceSize()
	if err != nil || len(raw) < n {
		return "", errors.New("sealed secret malformed")
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(device))
	if err != nil {
		return "", errors.New("sealed secret does not open with this key (a key file from another hub?)")
	}
	return string(plain), nil
}

// sealPlainSecrets seals the secrets a database from before sealing kept in plain text.
func (h *Hub) sealPlainSecrets() (int, error) {
	rows, err := h.db.Query(`SELECT device, secret FROM devices WHERE secret NOT LIKE 'v1:%'`)
	if err != nil {
		return 0, err
	}
	plain := map[string]string{}
	for rows.Next() {
		var d, s string
		if err := rows.Scan(&d, &s); err != nil {
			rows.Close()
			return 0, err
		}
		plain[d] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(plain) == 0 {
		return 0, err
	}
	tx, err := h.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for d, s := range plain {
		sealed, err := h.box.seal(d, s)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`UPDATE devices SET secret = ? WHERE device = ? AND secret = ?`, sealed, d, s); err != nil {
			return 0, err
		}
	}
	return len(plain), tx.Commit()
}

// hasSealed says whether the database holds sealed secrets, or the check of a key.
func hasSealed(db *store.DB) (bool, error) {
	var n, k int
	if err := db.QueryRow(`SELECT count(*) FROM devices WHERE secret LIKE 'v1:%'`).Scan(&n); err != nil {
		return false, err
	}
	err := db.QueryRow(`SELECT count(*) FROM hub_settings WHERE name = ?`, keyCheckName).Scan(&k)
	return n+k > 0, err
}

// The database keeps a check of its key: a fixed text sealed with it. A hub whose key
// file holds another key (a second hub given a fresh key instead of a copy) is refused
// at open, before it could seal a secret the other hubs cannot open.
const (
	keyCheckName = "key_check"
	keyCheckText = "motcua hub key check"
	keyCheckAD   = "\x00key-check" // no device name starts with NUL
)

// ErrKeyMismatch means the key file is not the key of the database's device secrets.
var ErrKeyMismatch = errors.New("the key file is not the key of this database's device secrets")

// checkKey records the key's check if the database has none, and otherwise verifies it.
func checkKey(ctx context.Context, db *store.DB, b *secretBox, keyFile string) error {
	sealed, err := b.seal(keyCheckAD, keyCheckText)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO hub_settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING`,
		keyCheckName, sealed); err != nil {
		return fmt.Errorf("record the key check: %w", err)
	}
	var stored string
	if err := db.QueryRowContext(ctx, `SELECT value FROM hub_settings WHERE name = ?`, keyCheckName).Scan(&stored); err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	if got, err := b.open(keyCheckAD, stored); err != nil || got != keyCheckText {
		return fmt.Errorf("%w: %s (every hub on one database needs a copy of the same key file)", ErrKeyMismatch, keyFile)
	}
	return nil
}
