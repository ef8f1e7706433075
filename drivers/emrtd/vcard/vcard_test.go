package vcard

import (
	"bytes"
	"testing"

	"motcua-agent/drivers/emrtd"
)

func testCard(t *testing.T, f Faults) *Card {
	t.Helper()
	dg1, err := BuildDG1(MRZFields{DocumentCode: "ID", IssuingState: "VNM", DocumentNumber: "012345678", DateOfBirth: "900101", Sex: "F", DateOfExpiry: "300101", Nationality: "VNM", PrimaryName: "TRAN", SecondaryName: "THI B"}.TD1())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Profile{Files: map[uint16][]byte{emrtd.DataGroupFile(1): dg1, emrtd.FileCOM: BuildCOM([]int{1})},
		DocumentNumber: "012345678", DateOfBirth: "900101", DateOfExpiry: "300101", Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var selectApplet = append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x07}, emrtd.AppletAID...)

func TestCardAnswers(t *testing.T) {
	c := testCard(t, Faults{})
	atr := c.ATR()
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	if atr[0] != 0x3B || tck != 0 {
		t.Fatalf("ATR %X", atr)
	}
	for _, tc := range []struct {
		apdu []byte
		sw   []byte
	}{
		{selectApplet, []byte{0x90, 0x00}},
		{[]byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0xA0, 0x00}, []byte{0x6A, 0x82}},
		{[]byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01}, []byte{0x69, 0x82}}, // no plain access
		{[]byte{0x00, 0xB0, 0x81, 0x00, 0x04}, []byte{0x69, 0x82}},
		{[]byte{0x00, 0x84, 0x00, 0x00, 0x08}, nil},
		{[]byte{0x00, 0x82, 0x00, 0x00, 0x28}, []byte{0x67, 0x00}},
		{[]byte{0x0C, 0xB0, 0x00, 0x00, 0x00}, []byte{0x69, 0x87}},
		{[]byte{0x00, 0xCA, 0x00, 0x00, 0x00}, []byte{0x6D, 0x00}},
		{[]byte{0x00}, []byte{0x67, 0x00}},
	} {
		resp := c.Process(tc.apdu)
		if tc.sw == nil {
			if len(resp) != 10 || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
				t.Errorf("%X -> %X", tc.apdu, resp)
			}
			continue
		}
		if !bytes.Equal(resp, tc.sw) {
			t.Errorf("%X -> %X, want %X", tc.apdu, resp, tc.sw)
		}
	}
}

func TestCardFaults(t *testing.T) {
	c := testCard(t, Faults{PullOutAfter: 2, StatusWords: []StatusFault{{INS: 0xA4, SW: 0x6F00}}})
	if r := c.Process(selectApplet); !bytes.Equal(r, []byte{0x6F, 0x00}) {
		t.Fatalf("status fault: %X", r)
	}
	if r := c.Process(selectApplet); !bytes.Equal(r, []byte{0x90, 0x00}) {
		t.Fatalf("fault not one-shot: %X", r)
	}
	if r := c.Process(selectApplet); r != nil {
		t.Fatalf("pulled card answered %X", r)
	}
	if r := c.Process(selectApplet); r != nil {
		t.Fatalf("pulled card answered %X", r)
	}
	c.Reset()
	if r := c.Process(selectApplet); r == nil {
		t.Fatal("card still gone after reset")
	}
}
