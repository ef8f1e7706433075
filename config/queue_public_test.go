package config

import "testing"

func TestPublicURLWarning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1:8606", true},
		{"http://localhost:8606", true},
		{"http://[::1]:8606", true},
		{"http://0.0.0.0:8606", true},
		{"ftp://192.168.1.10", true},
		{"http://192.168.1.10:8606", false},
		{"https://motcua.phuong-badinh.gov.vn", false},
	} {
		c := &Config{Queue: Queue{Enabled: true}, HTTP: HTTP{PublicURL: tc.url}}
		if got := len(c.Warnings()) > 0; got != tc.warn {
			t.Errorf("%s: warning %v, want %v (%v)", tc.url, got, tc.warn, c.Warnings())
		}
	}
	off := &Config{HTTP: HTTP{PublicURL: "http://127.0.0.1:8606"}}
	if len(off.Warnings()) != 0 {
		t.Error("warned about the QR address with the queue off")
	}
}
