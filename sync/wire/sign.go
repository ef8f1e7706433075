package wire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Headers that authenticate a push.
const (
	HeaderDevice    = "X-Motcua-Device"
	HeaderTime      = "X-Motcua-Time"  // unix seconds, the agent's clock corrected by the hub's offset
	HeaderNonce     = "X-Motcua-Nonce" // 32 hex digits, never reused
	HeaderSignature = "X-Motcua-Signature"
)

// MaxClockSkew is how far a request's timestamp may be from the hub's clock. Nonces are
// remembered for at least twice this long, so a replay is caught either way.
const MaxClockSkew = 5 * time.Minute

const signatureContext = "motcua-sync-v1"

// SecretBytes is the length of a device secret.
const SecretBytes = 32

// NewSecret returns a fresh device secret as hex.
func NewSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate device secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ParseSecret decodes a hex device secret.
func ParseSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 16 {
		return nil, errors.New("device secret must be at least 32 hex digits")
	}
	return b, nil
}

func newNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Signature is HMAC-SHA256 with the device secret over the method, the path with its
// query, the timestamp, the nonce and the SHA-256 of the body exactly as sent.
func Signature(secret []byte, method, pathAndQuery string, unix int64, nonce string, body []byte) string {
	bodyHash := sha256.Sum256(body)
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s\n%s\n%s\n%d\n%s\n%s", signatureContext, method, pathAndQuery, unix, nonce, hex.EncodeToString(bodyHash[:]))
	return hex.EncodeToString(mac.Sum(nil))
}

// Sign sets the authentication headers on req for body, at time now.
func Sign(req *http.Request, device string, secret, body []byte, now time.Time) error {
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	unix := now.Unix()
	req.Header.Set(HeaderDevice, device)
	req.Header.Set(HeaderTime, strconv.FormatInt(unix, 10))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, Signature(secret, req.Method, req.URL.RequestURI(), unix, nonce, body))
	return nil
}

// SignedHeaders are the authentication headers of a request, parsed but not yet
// verified.
type SignedHeaders struct {
	Device    string
	Time      time.Time
	Nonce     string
	Signature []byte
}

// ErrMissingAuth means a header is absent or malformed.
var ErrMissingAuth = errors.New("missing or malformed authentication headers")

// ParseSignedHeaders reads the authentication headers, checking only their shape.
func ParseSignedHeaders(h http.Header) (SignedHeaders, error) {
	var s SignedHeaders
	s.Device = h.Get(HeaderDevice)
	if !ValidName(s.Device) {
		return s, fmt.Errorf("%w: %s", ErrMissingAuth, HeaderDevice)
	}
	unix, err := strconv.ParseInt(h.Get(HeaderTime), 10, 64)
	if err != nil || unix <= 0 || unix > 1<<40 {
		return s, fmt.Errorf("%w: %s", ErrMissingAuth, HeaderTime)
	}
	s.Time = time.Unix(unix, 0)
	s.Nonce = h.Get(HeaderNonce)
	if n, err := hex.DecodeString(s.Nonce); err != nil || len(n) != 16 {
		return s, fmt.Errorf("%w: %s", ErrMissingAuth, HeaderNonce)
	}
	s.Signature, err = hex.DecodeString(h.Get(HeaderSignature))
	if err != nil || len(s.Signature) != sha256.Size {
		return s, fmt.Errorf("%w: %s", ErrMissingAuth, HeaderSignature)
	}
	return s, nil
}

// Verify reports whether the signature matches secret for this request and body.
func (s SignedHeaders) Verify(secret []byte, method, pathAndQuery string, body []byte) bool {
	want, _ := hex.DecodeString(Signature(secret, method, pathAndQuery, s.Time.Unix(), s.Nonce, body))
	return hmac.Equal(want, s.Signature)
}
