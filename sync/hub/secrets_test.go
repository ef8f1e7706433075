package hub

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

func TestDatabaseAndKeyPrivateAndSecretsSealed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	h, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := h.Enroll(context.Background(), Site{Code: "NA-VH"}, "pc1")
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	for _, p := range []string{path, KeyFile(path)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	// The database file alone holds no secret: not in plain text anywhere in it.
	for _, p := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s holds the device secret in plain text", filepath.Base(p))
		}
	}
	// Copied without its key, the database does not open (and never makes a new key
	// that would silently lock every agent out).
	copyDir := t.TempDir()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(path + suffix); err == nil {
			os.WriteFile(filepath.Join(copyDir, "hub.db"+suffix), b, 0o600)
		}
	}
	if _, err := Open(filepath.Join(copyDir, "hub.db"), Options{}); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("copy without key: %v, want ErrKeyMissing", err)
	}
	if _, err := os.Stat(KeyFile(filepath.Join(copyDir, "hub.db"))); err == nil {
		t.Fatal("a new key was made for sealed secrets")
	}
	// A key readable by others is refused.
	os.Chmod(KeyFile(path), 0o644)
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("key with mode 0644: %v", err)
	}
	os.Chmod(KeyFile(path), 0o600)
}

func TestPlainSecretsStillAcceptedAndSealed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	// A hub from before sealing: its devices row holds the hex secret, and no key file.
	h, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	os.Remove(KeyFile(path))
	plain, _ := wire.NewSecret()
	db, err := sql.Open("sqlite3", store.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	// (and no check of a key either)
	if _, err := db.Exec(`DELETE FROM hub_settings WHERE name = 'key_check'; INSERT INTO sites(site) VALUES('NA-VH'); INSERT INTO devices(device, site, secret, enrolled_at) VALUES('old-pc', 'NA-VH', ?, '2025-01-01T00:00:00Z')`, plain); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(path, 0o644)

	now := time.Now()
	h, err = Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("older database left at mode %v", st.Mode().Perm())
	}
	var stored string
	h.rdb.QueryRow(`SELECT secret FROM devices WHERE device = 'old-pc'`).Scan(&stored)
	if !strings.HasPrefix(stored, sealedPrefix) || strings.Contains(stored, plain) {
		t.Fatalf("plain secret not sealed: %q", stored)
	}
	// The agent's secret is unchanged: its pushes still verify.
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	key, _ := wire.ParseSecret(plain)
	body := pushBody(t, "NA-VH", "old-pc", snap(now.Format(time.DateOnly), "checkins", 3, 1))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.PushPath, bytes.NewReader(body))
	wire.Sign(req, "old-pc", key, body, now)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("push with the old secret after sealing: %d", resp.StatusCode)
	}
	// A sealed secret moved to another device's row does not open.
	if _, err := h.db.Exec(`INSERT INTO devices(device, site, secret, enrolled_at) VALUES('thief', 'NA-VH', ?, '2025-01-01T00:00:00Z')`, stored); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lookupDevice(context.Background(), "thief"); err == nil {
		t.Fatal("a sealed secret opened under another device's name")
	}
}
