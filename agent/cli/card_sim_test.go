package cli

import (
	"testing"
)

func TestParseSimFaults(t *testing.T) {
	o, err := ParseSimFaults("tamper-dg13, bad-mac=3,pull-after=40,sw=B0:6A82")
	if err != nil {
		t.Fatal(err)
	}
	if !o.TamperDG13 || o.Faults.BadResponseMACAt != 3 || o.Faults.PullOutAfter != 40 || len(o.Faults.StatusWords) != 1 ||
		o.Faults.StatusWords[0].INS != 0xB0 || o.Faults.StatusWords[0].SW != 0x6A82 {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []string{"explode", "bad-mac=x", "pull-after=0", "sw=zz"} {
		if _, err := ParseSimFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
