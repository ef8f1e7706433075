package cccd

import (
	"strings"
	"testing"
	"time"

	"motcua-agent/drivers/emrtd"
)

func timeMonth(m int) time.Month { return time.Month(m) }

// The sample CCCD MRZ of the domain notes, valid check digits.
const sampleTD1 = "IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<"

func TestIDFromMRZ(t *testing.T) {
	m, err := emrtd.ParseMRZ(sampleTD1)
	if err != nil || len(m.CheckDigitErrors) > 0 {
		t.Fatalf("sample MRZ: %v %v", err, m)
	}
	id, err := IDFromMRZ(m)
	if err != nil || id != "051091005513" {
		t.Fatalf("id = %q, %v", id, err)
	}
	wrong, _ := emrtd.ParseMRZ(strings.Replace(sampleTD1, "051091005513", "051091005514", 1))
	if _, err := IDFromMRZ(wrong); err == nil {
		t.Fatal("mismatching ID accepted")
	}
	td3, _ := emrtd.ParseMRZ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10")
	if _, err := IDFromMRZ(td3); err == nil {
		t.Fatal("TD3 accepted")
	}
}

// The keys computed from the QR open the same chip the printed MRZ does: their MRZ
// information agrees field for field.
func TestQRKeyMatchesPrintedMRZ(t *testing.T) {
	q, err := ParseQR("051091005513||Đinh Duy Tân|01011991|Nam|Hà Nội|15062021")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := emrtd.ParseMRZ(sampleTD1)
	keys := KeysFromQR(q)
	if keys[1] != (emrtd.AccessKey{Label: keys[1].Label, DocumentNumber: m.DocumentNumber, DateOfBirth: m.DateOfBirth, DateOfExpiry: m.DateOfExpiry}) {
		t.Fatalf("QR key %+v, MRZ key %+v", keys[1], m.AccessKey())
	}
}
