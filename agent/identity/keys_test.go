package identity

import (
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysFromFlags(t *testing.T) {
	t.Parallel()
	qr := "001090012345|012345678|Nguyễn Văn An|15031990|Nam|Hà Nội|20042021"
	mrz := "IDVNM0910055134051091005513<<0\n9101014M3101012VNM<<<<<<<<<<<8\nDINH<<DUY<TAN<<<<<<<<<<<<<<<<<"
	tests := []struct {
		name                    string
		qr, mrz, can, doc, d, e string
		want                    []string // CAN or doc/dob/exp per key
		err                     string
	}{
		{name: "qr", qr: qr, want: []string{"012345", "090012345/900315/300315"}},
		{name: "mrz with the ID", mrz: mrz, want: []string{"005513", "091005513/910101/310101"}},
		{name: "can", can: "123456", want: []string{"123456"}},
		{name: "12-digit ID as doc", doc: "051091005513", d: "910101", e: "310101", want: []string{"005513", "091005513/910101/310101"}},
		{name: "passport doc", doc: "l898902c", d: "690806", e: "940623", want: []string{"L898902C/690806/940623"}},
		{name: "nothing", err: "exactly one"},
		{name: "two", can: "123456", qr: qr, err: "exactly one"},
		{name: "short can", can: "12345", err: "6 digits"},
		{name: "doc without dates", doc: "123", err: "--dob"},
		{name: "bad MRZ check digit", mrz: strings.Replace(mrz, "9101014M", "9101015M", 1), err: "date of birth"},
		{name: "bad QR", qr: "hello", err: "not an ID card QR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, _, err := KeysFrom(tt.qr, tt.mrz, tt.can, tt.doc, tt.d, tt.e)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				if k.IsCAN() {
					got = append(got, k.CAN)
				} else {
					got = append(got, k.DocumentNumber+"/"+k.DateOfBirth+"/"+k.DateOfExpiry)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("keys %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTrustImportForms(t *testing.T) {
	t.Parallel()
	der, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "pki", "test", "csca.der"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "cards", "pki", "unknown", "csca.der"))
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "two.pem")
	os.WriteFile(pemFile, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other})...), 0o644)
	// An ICAO master list: ContentInfo { signedData, SignedData { ..., encap {
	// cscaMasterList, OCTET STRING { CscaMasterList { 0, SET OF Certificate } } } } }.
	set, _ := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 17, IsCompound: true, Bytes: append(append([]byte{}, der...), other...)})
	mlBody, _ := asn1.Marshal(struct {
		Version int
		Certs   asn1.RawValue
	}{0, asn1.RawValue{FullBytes: set}})
	sd, _ := asn1.Marshal(struct {
		Version int
		Digests asn1.RawValue
		Encap   struct {
			Type    asn1.ObjectIdentifier
			Content []byte `asn1:"explicit,tag:0"`
		}
		SignerInfos asn1.RawValue
	}{Version: 3, Digests: asn1.RawValue{Class: 0, Tag: 17, IsCompound: true},
		Encap: struct {
			Type    asn1.ObjectIdentifier
			Content []byte `asn1:"explicit,tag:0"`
		}{asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}, mlBody},
		SignerInfos: asn1.RawValue{Class: 0, Tag: 17, IsCompound: true}})
	ci, _ := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	mlFile := filepath.Join(dir, "list.ml")
	os.WriteFile(mlFile, ci, 0o644)
	derFile := filepath.Join(dir, "one.der")
	os.WriteFile(derFile, der, 0o644)
	junk := filepath.Join(dir, "junk.der")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)

	for _, tc := range []struct {
		file string
		n    int
	}{{derFile, 1}, {pemFile, 2}, {mlFile, 2}} {
		store := t.TempDir()
		n, err := ImportTrust(store, tc.file)
		if err != nil || n != tc.n {
			t.Fatalf("%s: %d, %v", filepath.Base(tc.file), n, err)
		}
		ts, err := LoadTrust(store)
		if err != nil || len(ts.Certificates()) != tc.n {
			t.Fatalf("%s: loaded %v, %v", filepath.Base(tc.file), ts.Certificates(), err)
		}
	}
	if _, err := ImportTrust(t.TempDir(), junk); err == nil {
		t.Fatal("junk imported")
	}
	if ts, err := LoadTrust(filepath.Join(dir, "missing")); err != nil || len(ts.Certificates()) != 0 {
		t.Fatalf("missing dir: %v", err)
	}
}
