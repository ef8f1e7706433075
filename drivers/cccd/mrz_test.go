package cccd

import (
	"strings"
	"testing"
	"time"
)

func timeMonth(m int) time.Month { return time.Month(m) }

const sampleTD1 = "IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<"

func TestCheckDigitICAO(t *testing.T) {
	// ICAO 9303-11 worked example: L898902C<369080619406236.
	for s, want := range map[string]byte{"L898902C<": '3', "690806": '1', "940623": '6', "091005513": '4'} {
		if got := CheckDigit(s); got != want {
			t.Errorf("CheckDigit(%s) = %c, want %c", s, got, want)
		}
	}
}

func TestKeyFromMRZ(t *testing.T) {
	k, err := KeyFromMRZ(sampleTD1)
	if err != nil {
		t.Fatal(err)
	}
	if k.MRZInformation() != "091005513491010143101012" {
		t.Fatalf("TD1 key = %+v", k)
	}
	td3 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	k, err = KeyFromMRZ(td3)
	if err != nil {
		t.Fatal(err)
	}
	if k.MRZInformation() != "L898902C3674081221204159" {
		t.Fatalf("TD3 key = %s", k.MRZInformation())
	}
	bad := strings.Replace(sampleTD1, "9101014M", "9101015M", 1)
	if _, err := KeyFromMRZ(bad); err == nil || !strings.Contains(err.Error(), "birth date check digit") {
		t.Fatalf("bad check digit: err = %v", err)
	}
	if _, err := KeyFromMRZ("IDVNM"); err == nil {
		t.Fatal("short MRZ accepted")
	}
}

func TestIDFromMRZ(t *testing.T) {
	id, err := IDFromMRZ(strings.ReplaceAll(sampleTD1, "\n", ""))
	if err != nil || id != "051091005513" {
		t.Fatalf("id = %q, %v", id, err)
	}
	wrong := strings.Replace(sampleTD1, "051091005513", "051091005514", 1)
	if _, err := IDFromMRZ(wrong); err == nil {
		t.Fatal("mismatching ID accepted")
	}
}
