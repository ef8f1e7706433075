package emrtd_test

import (
	"context"
	"errors"
	"testing"

	"motcua-agent/drivers/emrtd"
)

// hostileCard answers each command with the next frame of its script
// (one length byte, then that many bytes), then with nothing.
type hostileCard struct{ script []byte }

func (h *hostileCard) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	if len(h.script) == 0 {
		return nil, errors.New("script ended")
	}
	n := int(h.script[0])
	h.script = h.script[1:]
	if n > len(h.script) {
		n = len(h.script)
	}
	resp := h.script[:n]
	h.script = h.script[n:]
	return resp, nil
}

// FuzzReadHostileCard: whatever a card answers, Read returns (a document or
// an error) without panicking, and never calls a document genuine.
func FuzzReadHostileCard(f *testing.F) {
	f.Add([]byte{2, 0x90, 0x00, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00, 42, 0x90, 0x00})
	f.Add([]byte{2, 0x6A, 0x82, 2, 0x90, 0x00, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, script []byte) {
		doc, err := emrtd.Read(context.Background(), &hostileCard{script: script}, emrtd.ReadOptions{
			Keys: []emrtd.AccessKey{emrtd.MRZKey("L898902C", "690806", "940623"), emrtd.CANKey("123456")},
		})
		if err == nil && doc.Genuine() {
			t.Fatal("a scripted card passed as genuine")
		}
	})
}
