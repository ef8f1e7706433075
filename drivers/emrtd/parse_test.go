package emrtd_test

import (
	"bytes"
	"errors"
	"testing"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

func TestParseMRZ(t *testing.T) {
	cccd := "IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<"
	tests := []struct {
		name, mrz string
		format    string
		docNo     string
		errs      []string
	}{
		{"CCCD TD1", cccd, "TD1", "091005513", nil},
		{"ICAO TD3", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10", "TD3", "L898902C3", nil},
		{"bad birth check", "IDVNM0910055134051091005513<<0\n9101015M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<", "TD1", "091005513", []string{"date of birth", "composite"}},
		{"ICAO TD1 long doc number", "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<", "TD1", "D23145890734", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := emrtd.ParseMRZ(tc.mrz)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != tc.format || m.DocumentNumber != tc.docNo || len(m.CheckDigitErrors) != len(tc.errs) {
				t.Fatalf("%+v", m)
			}
			for i := range tc.errs {
				if m.CheckDigitErrors[i] != tc.errs[i] {
					t.Fatalf("errors %v", m.CheckDigitErrors)
				}
			}
		})
	}
	m, _ := emrtd.ParseMRZ(cccd)
	if m.OptionalData1 != "051091005513<<0" || m.DateOfBirth != "910101" || m.DateOfExpiry != "310101" || m.Sex != "M" || m.PrimaryName != "DINH" || m.SecondaryName != "DUY TAN" {
		t.Fatalf("fields %+v", m)
	}
	for _, bad := range []string{"", "IDVNM", cccd + "X", "idvnm0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<"} {
		if _, err := emrtd.ParseMRZ(bad); !errors.Is(err, emrtd.ErrMalformed) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestMRZBuilderRoundTrip(t *testing.T) {
	f := vcard.MRZFields{DocumentCode: "ID", IssuingState: "VNM", DocumentNumber: "091005513", OptionalData1: "051091005513<<0", DateOfBirth: "910101", Sex: "M", DateOfExpiry: "310101", Nationality: "VNM", PrimaryName: "DINH", SecondaryName: "DUY TAN"}
	if got := f.TD1(); got != "IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<" {
		t.Fatalf("TD1\n%s", got)
	}
	m, err := emrtd.ParseMRZ(f.TD3())
	if err != nil || len(m.CheckDigitErrors) != 0 || m.Format != "TD3" {
		t.Fatalf("TD3 %+v %v", m, err)
	}
}

func TestStatusErrors(t *testing.T) {
	cases := map[uint16]error{0x6982: emrtd.ErrSecurityStatus, 0x6300: emrtd.ErrAuthFailed, 0x63C2: emrtd.ErrAuthFailed, 0x6988: emrtd.ErrAuthFailed,
		0x6A82: emrtd.ErrFileNotFound, 0x6700: emrtd.ErrWrongLength, 0x6C10: emrtd.ErrWrongLe, 0x6B00: emrtd.ErrEndOfFile}
	for sw, want := range cases {
		err := error(&emrtd.StatusError{SW: sw})
		if !errors.Is(err, want) || !errors.Is(err, emrtd.ErrCardError) {
			t.Errorf("%04X does not match %v", sw, want)
		}
		if errors.Is(err, emrtd.ErrMACMismatch) {
			t.Errorf("%04X matches MAC mismatch", sw)
		}
	}
	if (&emrtd.StatusError{SW: 0x63C2}).RetriesLeft() != 2 || (&emrtd.StatusError{SW: 0x6C10}).ExactLe() != 16 {
		t.Error("retries or exact Le")
	}
}

func TestTLV(t *testing.T) {
	obj := emrtd.EncodeTLV(0x7F61, append(emrtd.EncodeTLV(0x02, []byte{1}), emrtd.EncodeTLV(0x5F2E, bytes.Repeat([]byte{7}, 300))...))
	tl, rest, err := emrtd.ParseTLV(obj)
	if err != nil || len(rest) != 0 || tl.Tag != 0x7F61 || !tl.Constructed() {
		t.Fatalf("%+v %v", tl, err)
	}
	kids, err := tl.Children()
	if err != nil || len(kids) != 2 || kids[1].Tag != 0x5F2E || len(kids[1].Value) != 300 {
		t.Fatalf("%+v %v", kids, err)
	}
	for _, bad := range [][]byte{{}, {0x5F}, {0x5F, 0x1F}, {0x04, 0x80}, {0x04, 0x85, 1, 1, 1, 1, 1}, {0x04, 0x82, 0x01}, {0x04, 0x05, 1}, {0x1F, 0x81, 0x81, 0x81, 0x01, 0x00}} {
		if _, _, err := emrtd.ParseTLV(bad); err == nil {
			t.Errorf("%X accepted", bad)
		}
	}
}

func FuzzTLV(f *testing.F) {
	f.Add(emrtd.EncodeTLV(0x61, emrtd.EncodeTLV(0x5F1F, []byte("ABC"))))
	f.Add([]byte{0x7F, 0x61, 0x82, 0x00, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := emrtd.ParseTLVs(b)
		if err != nil {
			return
		}
		var again []byte
		for _, x := range list {
			again = append(again, emrtd.EncodeTLV(x.Tag, x.Value)...)
			x.Children()
		}
		if len(again) > len(b) {
			t.Fatalf("re-encoding grew: %d > %d", len(again), len(b))
		}
	})
}

func FuzzMRZ(f *testing.F) {
	f.Add("IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<")
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<3407127M9507122UTO<<<<<<<<<<<2STEVENSON<<PETER<JOHN<<<<<<<<<")
	f.Fuzz(func(t *testing.T, s string) {
		emrtd.ParseMRZ(s)
		emrtd.ParseDG1([]byte(s))
	})
}

func FuzzLDSFiles(f *testing.F) {
	fx := newFixture(f, fixtureOptions{aa: "ec", ca: true, pace: true, photo: 64, pkiCurve: "P-256"})
	for _, b := range fx.profile.Files {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		emrtd.ParseSOD(b)
		emrtd.ParseCOM(b)
		emrtd.ParseDG2(b)
		emrtd.ParseDG14(b)
		emrtd.ParseDG15(b)
		emrtd.ParseCardAccess(b)
		emrtd.ParseCertificate(b)
	})
}

// FuzzCardProcess feeds arbitrary commands to the virtual card, after BAC
// and without: it must answer, never panic.
func FuzzCardProcess(f *testing.F) {
	fx := newFixture(f, fixtureOptions{pace: true, aa: "ec", photo: 64, pkiCurve: "P-256"})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	f.Add([]byte{0x0C, 0xB0, 0x00, 0x00, 0x0D, 0x97, 0x01, 0x04, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00})
	f.Add([]byte{0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := vcard.New(fx.profile)
		if err != nil {
			t.Fatal(err)
		}
		if r := card.Process(b); len(r) < 2 {
			t.Fatalf("answer %X", r)
		}
	})
}

func TestParseDG2Formats(t *testing.T) {
	jp2 := append([]byte{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A}, bytes.Repeat([]byte{1}, 50)...)
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{2}, 50)...)
	for _, tc := range []struct {
		img    []byte
		format string
	}{{jp2, "jpeg2000"}, {jpeg, "jpeg"}} {
		d, err := emrtd.ParseDG2(vcard.BuildDG2(tc.img, 240, 320))
		if err != nil || d.Format != tc.format || !bytes.Equal(d.Image, tc.img) || d.Width != 240 || d.Height != 320 {
			t.Fatalf("%s: %+v %v", tc.format, d, err)
		}
	}
	if _, err := emrtd.ParseDG2(vcard.BuildDG2([]byte("GIF89a not a face image"), 1, 1)); !errors.Is(err, emrtd.ErrMalformed) {
		t.Fatalf("GIF accepted: %v", err)
	}
}
