package display

import (
	"context"
	"strings"
	"testing"
)

func TestParseKeypadLine(t *testing.T) {
	tests := []struct {
		in   string
		want KeypadCommand
		bad  bool
	}{
		{"3 NEXT", KeypadCommand{Counter: "3", Action: "next"}, false},
		{"3 next\r\n", KeypadCommand{Counter: "3", Action: "next"}, false},
		{"12 CALL 1023", KeypadCommand{Counter: "12", Action: "call", Number: 1023}, false},
		{"2 RECALL", KeypadCommand{Counter: "2", Action: "recall"}, false},
		{"2 NOSHOW", KeypadCommand{Counter: "2", Action: "noshow"}, false},
		{"3 RATE 4", KeypadCommand{Counter: "3", Action: "rate", Level: 4}, false},
		{"A2 rate 1\r", KeypadCommand{Counter: "A2", Action: "rate", Level: 1}, false},
		{"3 RATE", KeypadCommand{}, true},
		{"3 RATE 0", KeypadCommand{}, true},
		{"3 RATE 6", KeypadCommand{}, true},
		{"3 RATE 45", KeypadCommand{}, true},
		{"3 RATE +4", KeypadCommand{}, true},
		{"3 RATE 4 4", KeypadCommand{}, true},
		{"3 CALL", KeypadCommand{Counter: "3", Action: "call"}, true},
		{"3 CALL 99999", KeypadCommand{}, true},
		{"3 NEXT 4", KeypadCommand{}, true},
		{"3 JUMP", KeypadCommand{}, true},
		{"NEXT", KeypadCommand{}, true},
		{"3/ NEXT", KeypadCommand{}, true},
		{"123456789 NEXT", KeypadCommand{}, true},
		{strings.Repeat("1", 80) + " NEXT", KeypadCommand{}, true},
	}
	for _, tc := range tests {
		got, err := ParseKeypadLine(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
	}
}

func TestReadKeypad(t *testing.T) {
	in := "3 NEXT\r\n\r\nbad line\n" + strings.Repeat("x", 500) + "3 NEXT\n2 CALL 1001\r"
	var got []KeypadCommand
	var errs int
	ReadKeypad(context.Background(), strings.NewReader(in), func(c KeypadCommand) { got = append(got, c) }, func(error) { errs++ })
	if len(got) != 2 || got[1].Number != 1001 || errs != 2 {
		t.Fatalf("got %+v, %d errors", got, errs)
	}
}

func FuzzParseKeypadLine(f *testing.F) {
	f.Add("3 CALL 1023")
	f.Add("1 NEXT\r\n")
	f.Add("3 RATE 4")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseKeypadLine(s)
		if err == nil && (c.Counter == "" || c.Action == "" || (c.Action == "call") != (c.Number > 0) ||
			(c.Action == "rate") != (c.Level >= 1 && c.Level <= 5) || (c.Action != "rate" && c.Level != 0)) {
			t.Fatalf("%q parsed to %+v", s, c)
		}
	})
}
