package sm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// ICAO Doc 9303-11 appendix D worked example.
func TestICAOBACKeyDerivation(t *testing.T) {
	seed := h("239AB9CB282DAF66231DC5A4DF6BFBAE")
	if got := DeriveKey(TDES, seed, CounterEnc); !bytes.Equal(got, h("AB94FDECF2674FDFB9B391F85D7F76F2")) {
		t.Errorf("Kenc = %X", got)
	}
	if got := DeriveKey(TDES, seed, CounterMAC); !bytes.Equal(got, h("7962D9ECE03D1ACD4C76089DCE131543")) {
		t.Errorf("Kmac = %X", got)
	}
	kifd, kic := h("0B795240CB7049B01C19B33E32804F0B"), h("0B4F80323EB3191CB04970CB4052790B")
	secret := make([]byte, 16)
	for i := range secret {
		secret[i] = kifd[i] ^ kic[i]
	}
	s := NewSession(TDES, secret, h("887022120C06C226"))
	if !bytes.Equal(s.KSenc, h("979EC13B1CBFE9DCD01AB0FED307EAE5")) || !bytes.Equal(s.KSmac, h("F1CB1F1FB5ADF208806B89DC579DC1F8")) {
		t.Errorf("KSenc %X KSmac %X", s.KSenc, s.KSmac)
	}
}

func icaoPair() (*Session, *Session) {
	mk := func() *Session {
		return &Session{Cipher: TDES, KSenc: h("979EC13B1CBFE9DCD01AB0FED307EAE5"), KSmac: h("F1CB1F1FB5ADF208806B89DC579DC1F8"), SSC: h("887022120C06C226")}
	}
	return mk(), mk()
}

func TestICAOSecureMessaging(t *testing.T) {
	term, card := icaoPair()
	sel := Command{CLA: 0x00, INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x1E}, Le: -1}
	got := term.Protect(sel)
	if want := h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"); !bytes.Equal(got, want) {
		t.Fatalf("protected SELECT\n got %X\nwant %X", got, want)
	}
	plain, err := card.UnprotectCommand(got)
	if err != nil || plain.INS != 0xA4 || !bytes.Equal(plain.Data, []byte{0x01, 0x1E}) || plain.Le != -1 {
		t.Fatalf("card unwrap: %+v %v", plain, err)
	}
	resp := card.ProtectResponse(nil, 0x9000)
	if want := h("990290008E08FA855A5D4C50A8ED9000"); !bytes.Equal(resp, want) {
		t.Fatalf("card response %X", resp)
	}
	data, sw, err := term.Unprotect(resp)
	if err != nil || sw != 0x9000 || len(data) != 0 {
		t.Fatalf("unprotect SELECT response: %X %04X %v", data, sw, err)
	}
	rb := term.Protect(Command{INS: 0xB0, Le: 4})
	if want := h("0CB000000D9701048E08ED6705417E96BA5500"); !bytes.Equal(rb, want) {
		t.Fatalf("protected READ BINARY %X", rb)
	}
	if _, err := card.UnprotectCommand(rb); err != nil {
		t.Fatal(err)
	}
	resp = card.ProtectResponse(h("60145F01"), 0x9000)
	if want := h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"); !bytes.Equal(resp, want) {
		t.Fatalf("card READ BINARY response %X", resp)
	}
	data, sw, err = term.Unprotect(resp)
	if err != nil || sw != 0x9000 || !bytes.Equal(data, h("60145F01")) {
		t.Fatalf("unprotect: %X %04X %v", data, sw, err)
	}
}

func TestUnprotectRejectsBadMAC(t *testing.T) {
	term, _ := icaoPair()
	term.Protect(Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{1, 0x1E}, Le: -1})
	resp := h("990290008E08FA855A5D4C50A8EE9000")
	if _, _, err := term.Unprotect(resp); !errors.Is(err, ErrMAC) {
		t.Fatalf("err = %v", err)
	}
}

func TestAESRoundTrip(t *testing.T) {
	for _, c := range []Cipher{AES128, AES192, AES256} {
		secret := []byte("a shared secret of some length")
		term, card := NewSession(c, secret, nil), NewSession(c, secret, nil)
		for _, le := range []int{-1, 1, 223, 256, 1000} {
			cmd := Command{INS: 0xB0, P1: 1, P2: 2, Data: bytes.Repeat([]byte{7}, le%40+1), Le: le}
			plain, err := card.UnprotectCommand(term.Protect(cmd))
			if err != nil || !bytes.Equal(plain.Data, cmd.Data) || plain.Le != le {
				t.Fatalf("cipher %d le %d: %+v %v", c, le, plain, err)
			}
			payload := bytes.Repeat([]byte{9}, le%300+1)
			data, sw, err := term.Unprotect(card.ProtectResponse(payload, 0x6282))
			if err != nil || sw != 0x6282 || !bytes.Equal(data, payload) {
				t.Fatalf("response: %v", err)
			}
		}
	}
}

func TestOddINSUsesDO85(t *testing.T) {
	term, card := icaoPair()
	cmd := Command{INS: 0xB1, Data: []byte{0x54, 0x02, 0x80, 0x00}, Le: 0xE0}
	wire := term.Protect(cmd)
	if !bytes.Contains(wire, []byte{0x85, 0x08}) {
		t.Fatalf("no DO85 in %X", wire)
	}
	plain, err := card.UnprotectCommand(wire)
	if err != nil || !bytes.Equal(plain.Data, cmd.Data) {
		t.Fatalf("%+v %v", plain, err)
	}
	resp := card.ProtectResponseTo(0xB1, []byte{0x53, 0x02, 1, 2}, 0x9000)
	data, sw, err := term.Unprotect(resp)
	if err != nil || sw != 0x9000 || !bytes.Equal(data, []byte{0x53, 0x02, 1, 2}) {
		t.Fatalf("%X %04X %v", data, sw, err)
	}
}

// NIST SP 800-38B AES-128 CMAC example 2.
func TestCMAC(t *testing.T) {
	got := cmac(h("2b7e151628aed2a6abf7158809cf4f3c"), h("6bc1bee22e409f96e93d7e117393172a"))
	if !bytes.Equal(got, h("070a16b46b4d4144f79bdd9dd04a287c")) {
		t.Fatalf("cmac %X", got)
	}
}

func FuzzUnprotect(f *testing.F) {
	f.Add(h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
	f.Add(h("990290008E08FA855A5D4C50A8ED9000"))
	f.Add([]byte{0x87, 0x82, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, card := icaoPair()
		card.Unprotect(b)
		card.UnprotectCommand(b)
		ParseCommand(b)
	})
}
