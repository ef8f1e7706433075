package wire

import (
	"net/http"
	"testing"
)

// FuzzParseSignedHeaders: header values come from anyone on the network.
func FuzzParseSignedHeaders(f *testing.F) {
	f.Add("pc1", "1795000000", "00112233445566778899aabbccddeeff", "ab")
	f.Add("", "-1", "zz", "")
	f.Fuzz(func(t *testing.T, device, ts, nonce, sig string) {
		h := http.Header{}
		h.Set(HeaderDevice, device)
		h.Set(HeaderTime, ts)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderSignature, sig)
		s, err := ParseSignedHeaders(h)
		if err != nil {
			return
		}
		if !ValidName(s.Device) || len(s.Signature) != 32 || len(s.Nonce) != 32 {
			t.Fatalf("accepted malformed headers %+v", s)
		}
		_ = s.Verify([]byte("0123456789abcdef"), "POST", PushPath, nil)
	})
}
