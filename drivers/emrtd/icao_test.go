package emrtd

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"motcua-agent/drivers/emrtd/internal/curve"
	"motcua-agent/drivers/emrtd/internal/sm"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// scripted is a Transmitter that checks each command against an expected
// one and answers from a script.
type scripted struct {
	t     *testing.T
	steps [][2]string // command (hex, "" = any), response (hex)
	i     int
}

func (s *scripted) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	if s.i >= len(s.steps) {
		return nil, fmt.Errorf("script ended")
	}
	step := s.steps[s.i]
	s.i++
	if step[0] != "" && !bytes.Equal(apdu, unhex(step[0])) {
		s.t.Errorf("command %d\n got %X\nwant %s", s.i, apdu, step[0])
	}
	return unhex(step[1]), nil
}

// ICAO Doc 9303-11 appendix D: BAC key derivation and mutual authentication.
func TestICAOBACWorkedExample(t *testing.T) {
	key := MRZKey("L898902C", "690806", "940623")
	info, err := key.mrzInformation()
	if err != nil || info != "L898902C<369080619406236" {
		t.Fatalf("MRZ information %q %v", info, err)
	}
	seed, _ := bacKeySeed(key)
	if !bytes.Equal(seed, unhex("239AB9CB282DAF66231DC5A4DF6BFBAE")) {
		t.Fatalf("Kseed %X", seed)
	}
	kenc, kmac, _ := BACKeys(key)
	if !bytes.Equal(kenc, unhex("AB94FDECF2674FDFB9B391F85D7F76F2")) || !bytes.Equal(kmac, unhex("7962D9ECE03D1ACD4C76089DCE131543")) {
		t.Fatalf("Kenc %X Kmac %X", kenc, kmac)
	}
	card := &scripted{t: t, steps: [][2]string{
		{"0084000008", "4608F919887022129000"},
		{"0082000028" + "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7" + "28",
			"46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449" + "9000"},
	}}
	c := &conn{t: card}
	random := bytes.NewReader(unhex("781723860C06C226" + "0B795240CB7049B01C19B33E32804F0B"))
	if err := c.bac(context.Background(), key, random); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.sm.KSenc, unhex("979EC13B1CBFE9DCD01AB0FED307EAE5")) || !bytes.Equal(c.sm.KSmac, unhex("F1CB1F1FB5ADF208806B89DC579DC1F8")) || !bytes.Equal(c.sm.SSC, unhex("887022120C06C226")) {
		t.Fatalf("session %X %X %X", c.sm.KSenc, c.sm.KSmac, c.sm.SSC)
	}
	// Then the worked SELECT EF.COM and READ BINARY under secure messaging.
	card.steps = append(card.steps,
		[2]string{"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"},
		[2]string{"0CB000000D9701048E08ED6705417E96BA5500", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"})
	if err := c.selectFile(context.Background(), FileCOM); err != nil {
		t.Fatal(err)
	}
	data, err := c.readBinary(context.Background(), 0, 4)
	if err != nil || !bytes.Equal(data, unhex("60145F01")) {
		t.Fatalf("read binary %X %v", data, err)
	}
}

// ICAO Doc 9303-11 appendix G.1: PACE ECDH generic mapping on
// brainpoolP256r1 with AES-128 and the MRZ password.
func TestICAOPACEGenericMappingWorkedExample(t *testing.T) {
	key := MRZKey("T22000129", "640812", "101031")
	info, _ := key.mrzInformation()
	if info != "T22000129364081251010318" {
		t.Fatalf("password %q", info)
	}
	password, ref, _ := PACEPassword(key)
	kpi := sm.DeriveKey(sm.AES128, password, sm.CounterPACE)
	if ref != 1 || !bytes.Equal(kpi, unhex("89DED1B26624EC1E634C1989302849DD")) {
		t.Fatalf("Kπ %X", kpi)
	}
	s := sm.Decrypt(sm.AES128, kpi, make([]byte, 16), unhex("95A3A016522EE98D01E76CB6B98B42C3"))
	if !bytes.Equal(s, unhex("3F00C4D39D153F2B2A214A078D899B22")) {
		t.Fatalf("nonce %X", s)
	}
	cv := curve.BrainpoolP256r1
	pt := func(x, y string) []byte { return unhex("04" + x + y) }
	mapIFD := new(big.Int).SetBytes(unhex("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"))
	if got := cv.Marshal(cv.ScalarMult(cv.G(), mapIFD)); !bytes.Equal(got, pt("7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E", "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D")) {
		t.Fatalf("PK map IFD %X", got)
	}
	mapIC := new(big.Int).SetBytes(unhex("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560"))
	pkMapIC := cv.Marshal(cv.ScalarMult(cv.G(), mapIC))
	if !bytes.Equal(pkMapIC, pt("824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57", "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54")) {
		t.Fatalf("PK map IC %X", pkMapIC)
	}
	icPoint, _ := cv.Unmarshal(pkMapIC)
	h := cv.ScalarMult(icPoint, mapIFD)
	if !bytes.Equal(cv.Marshal(h), pt("60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5", "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181")) {
		t.Fatalf("H %X", cv.Marshal(h))
	}
	mapped, err := paceMap(cv, s, mapIFD, pkMapIC)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mapped.Marshal(mapped.G()), pt("8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2", "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522")) {
		t.Fatalf("mapped G %X", mapped.Marshal(mapped.G()))
	}
	skIFD := new(big.Int).SetBytes(unhex("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"))
	pkIFD := mapped.Marshal(mapped.ScalarMult(mapped.G(), skIFD))
	if !bytes.Equal(pkIFD, pt("2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C", "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462")) {
		t.Fatalf("PK DH IFD %X", pkIFD)
	}
	skIC := new(big.Int).SetBytes(unhex("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"))
	pkIC := mapped.Marshal(mapped.ScalarMult(mapped.G(), skIC))
	if !bytes.HasPrefix(pkIC, unhex("049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B222")) {
		t.Fatalf("PK DH IC %X", pkIC)
	}
	icEph, _ := mapped.Unmarshal(pkIC)
	secret, err := mapped.ECDH(skIFD, icEph)
	if err != nil || !bytes.Equal(secret, unhex("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")) {
		t.Fatalf("K %X %v", secret, err)
	}
	session := sm.NewSession(sm.AES128, secret, nil)
	if !bytes.Equal(session.KSenc, unhex("F5F0E35C0D7161EE6724EE513A0D9A7F")) || !bytes.Equal(session.KSmac, unhex("FE251C7858B356B24514B3BD5F4297D1")) {
		t.Fatalf("KSenc %X KSmac %X", session.KSenc, session.KSmac)
	}
	tPCD := sm.Token(sm.AES128, session.KSmac, pacePublicKeyObject(OIDPACEECDHGMAES128, pkIC))
	tPICC := sm.Token(sm.AES128, session.KSmac, pacePublicKeyObject(OIDPACEECDHGMAES128, pkIFD))
	if !bytes.Equal(tPCD, unhex("C2B0BD78D94BA866")) || !bytes.Equal(tPICC, unhex("3ABB9674BCE93C08")) {
		t.Fatalf("T_PCD %X T_PICC %X", tPCD, tPICC)
	}
}
