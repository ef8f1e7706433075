package gate

import (
	"testing"

	"motcua-agent/config"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		payload, kind, identity string
	}{
		{"001099012345|123456789|Nguyễn Văn An|01021990|Nam|Số 1, Kim Liên, Nghệ An|15062021\r\n", config.KindCCCD, "001099012345"},
		{"001099012345||Lê Thị Bình|01021990|Nữ|Hà Nội|15082024|extra|more", config.KindCCCD, "001099012345"},
		{"VE-KL-000123", config.KindETicket, "ticket:VE-KL-000123"},
		{"eyJhbGciOiJFUzI1NiJ9.vneid-opaque", config.KindVNeID, "vneid:eyJhbGciOiJFUzI1NiJ9.vneid-opaque"},
		{"001099012345|123|Nguyễn Văn An|01021990|Nam|x|15062021", config.KindUnreadable, ""},
		{"001099012345|123456789|Nguyễn Văn An|31021990|Nam|x|15062021", config.KindUnreadable, ""},
		{"abc", config.KindUnreadable, ""},
		{"\xff\xfe\x00garbled-bytes", config.KindUnreadable, ""},
		{"ab\x07cdefgh", config.KindUnreadable, ""},
	}
	for _, c := range cases {
		got := Classify([]byte(c.payload), "VE-KL-")
		if got.Kind != c.kind || got.Identity != c.identity {
			t.Errorf("Classify(%q) = %+v, want kind %s identity %q", c.payload, got, c.kind, c.identity)
		}
	}
	if got := Classify([]byte("VE-KL-000123"), ""); got.Kind != config.KindUnreadable {
		t.Errorf("without a ticket prefix a ticket is not a known code, got %s", got.Kind)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte("001099012345|123456789|Nguyễn Văn An|01021990|Nam|x|15062021"), "VE-")
	f.Add([]byte("VE-1234567"), "VE-")
	f.Add([]byte("||||||||"), "")
	f.Fuzz(func(t *testing.T, b []byte, prefix string) {
		c := Classify(b, prefix)
		switch c.Kind {
		case config.KindUnreadable:
			if c.Identity != "" {
				t.Fatal("an unreadable code carries an identity")
			}
		case config.KindCCCD, config.KindVNeID, config.KindETicket:
			if c.Identity == "" {
				t.Fatal("a readable code without identity")
			}
		default:
			t.Fatalf("unknown kind %q", c.Kind)
		}
	})
}
