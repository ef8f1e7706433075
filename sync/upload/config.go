package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"motcua-agent/sync/wire"
)

// FetchConfig fetches the configuration a push answer offered (PROTOCOL.md,
// "Steering"), signed like a push, and returns its bytes only when their digest and
// version are the offer's. It reads at most wire.MaxConfigBytes.
func (c *Client) FetchConfig(ctx context.Context, offer *wire.ConfigOffer) ([]byte, error) {
	u := strings.TrimSuffix(c.cfg.HubURL, "/") + wire.ConfigPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build config request: %w", err)
	}
	c.mu.Lock()
	offset := c.offset
	c.mu.Unlock()
	if err := wire.Sign(req, c.cfg.Device, c.cfg.Secret, nil, c.cfg.Clock.Now().Add(offset)); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch config: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch config: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var er wire.ErrorResponse
		if json.Unmarshal(raw, &er) == nil && er.Code != "" {
			return nil, &HubError{Status: resp.StatusCode, Code: er.Code, Message: er.Message, HubTime: er.HubTime}
		}
		return nil, &HubError{Status: resp.StatusCode, Code: "http", Message: fmt.Sprintf("%.200s", raw)}
	}
	if len(raw) > wire.MaxConfigBytes {
		return nil, fmt.Errorf("fetch config: larger than %d bytes", wire.MaxConfigBytes)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != offer.SHA256 {
		return nil, fmt.Errorf("fetch config: its digest %.12s… is not the offer's %.12s… (republished meanwhile?)", got, offer.SHA256)
	}
	if v := resp.Header.Get(wire.HeaderConfigVersion); v != offer.Version {
		return nil, fmt.Errorf("fetch config: the hub sent version %.60q, the offer was %.60q", v, offer.Version)
	}
	return raw, nil
}
