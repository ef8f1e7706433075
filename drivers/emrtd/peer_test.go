package emrtd_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
)

// vpcdLink is the server end of the vpcd wire (2-byte big-endian length,
// then a payload; one-byte payloads are control frames), so a card emulator
// written by someone else can be read without pcscd.
type vpcdLink struct{ conn net.Conn }

func (l *vpcdLink) frame(payload []byte, reply bool) ([]byte, error) {
	hdr := make([]byte, 2)
	binary.BigEndian.PutUint16(hdr, uint16(len(payload)))
	if _, err := l.conn.Write(append(hdr, payload...)); err != nil {
		return nil, err
	}
	if !reply {
		return nil, nil
	}
	if _, err := io.ReadFull(l.conn, hdr); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(hdr))
	_, err := io.ReadFull(l.conn, resp)
	return resp, err
}

func (l *vpcdLink) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok {
		l.conn.SetDeadline(d)
	}
	return l.frame(apdu, true)
}

// peerDir finds shared/peers/emrtd beside the repository.
func peerDir() string {
	dir, _ := os.Getwd()
	for i := 0; i < 6; i++ {
		p := filepath.Join(dir, "shared", "peers", "emrtd", "vcard.py")
		if _, err := os.Stat(p); err == nil {
			return filepath.Dir(p)
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// TestReadThirdPartyCard reads vsmartcard's vicc, set up as a BAC chip by
// shared/peers/emrtd/vcard.py (a card side nobody here wrote), over the vpcd
// wire: TD1 and TD3, with and without DG2, a placeholder DG13 and a
// throwaway-signed SOD.
func TestReadThirdPartyCard(t *testing.T) {
	dir := peerDir()
	if dir == "" {
		t.Skip("shared/peers/emrtd not found beside the repository")
	}
	// The Debian python3, where python3-virtualsmartcard is installed.
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("/usr/bin/python3 not installed")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (the peer signs its SOD with it)")
	}
	if _, err := os.Stat("/usr/lib/python3/site-packages/virtualsmartcard"); err != nil {
		t.Skip("python3-virtualsmartcard not installed")
	}
	work := t.TempDir()
	jpeg := fakeJPEG(6000)
	os.WriteFile(filepath.Join(work, "face.jpg"), jpeg, 0o600)
	os.WriteFile(filepath.Join(work, "dg13.val"), []byte("0|001099012345|fictional"), 0o600)
	fields := vcard.MRZFields{DocumentCode: "ID", IssuingState: "VNM", DocumentNumber: "099012345", OptionalData1: "001099012345",
		DateOfBirth: "990115", Sex: "M", DateOfExpiry: "390115", Nationality: "VNM", PrimaryName: "PHAM", SecondaryName: "MINH KHOA"}
	td1 := fields.TD1()
	fields.DocumentCode, fields.DocumentNumber, fields.OptionalData1 = "P", "C01234567", ""
	td3 := fields.TD3()
	for _, tc := range []struct {
		name string
		mrz  string
		dg2  bool
	}{{"TD1 with DG2", td1, true}, {"TD3 without DG2", td3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := emrtd.ParseMRZ(tc.mrz)
			if err != nil || len(m.CheckDigitErrors) != 0 {
				t.Fatalf("fixture MRZ: %v %v", err, m.CheckDigitErrors)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := ln.Addr().(*net.TCPAddr).Port
			args := []string{filepath.Join(dir, "vcard.py"), "--mrz", strings.ReplaceAll(tc.mrz, "\n", ""), "--dg-value", "13=" + filepath.Join(work, "dg13.val"),
				"--shim-dir", filepath.Join(work, "shim")}
			if tc.dg2 {
				args = append(args, "--dg2-jpeg", filepath.Join(work, "face.jpg"))
			}
			sod := filepath.Join(work, tc.name+".sod")
			if out, err := exec.Command(py, append(args, "--write-sod", sod)...).CombinedOutput(); err != nil {
				t.Fatalf("peer --write-sod: %v\n%s", err, out)
			}
			expected := filepath.Join(work, tc.name)
			args = append(args, "--sod", sod)
			if out, err := exec.Command(py, append(args, "--dump-dir", expected, "--no-connect")...).CombinedOutput(); err != nil {
				t.Fatalf("peer --dump-dir: %v\n%s", err, out)
			}
			cctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(cctx, py, append(args, "--host", "127.0.0.1", "--port", fmt.Sprint(port))...)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(60 * time.Second))
			conn, err := ln.Accept()
			if err != nil {
				t.Fatalf("peer did not connect: %v\n%s", err, log.String())
			}
			defer conn.Close()
			link := &vpcdLink{conn: conn}
			link.frame([]byte{0x01}, false)
			if atr, err := link.frame([]byte{0x04}, true); err != nil || len(atr) < 2 {
				t.Fatalf("ATR %X %v", atr, err)
			}
			key := emrtd.MRZKey(m.DocumentNumber, m.DateOfBirth, m.DateOfExpiry)
			wrong := emrtd.MRZKey(m.DocumentNumber, m.DateOfBirth, "391231")
			doc, err := emrtd.Read(cctx, link, emrtd.ReadOptions{Keys: []emrtd.AccessKey{wrong, key}, Trust: emrtd.NewTrustStore()})
			if err != nil {
				t.Fatalf("read: %v\n%s", err, log.String())
			}
			if doc.Access.Method != emrtd.MethodBAC || doc.Access.KeyIndex != 1 || len(doc.Access.Attempts) != 1 {
				t.Errorf("access %+v", doc.Access)
			}
			for name, file := range map[string]string{"DG1": "dg1.bin", "DG13": "dg13.bin", "COM": "com.bin", "SOD": "sod.bin", "DG2": "dg2.bin"} {
				want, err := os.ReadFile(filepath.Join(expected, file))
				if err != nil {
					continue
				}
				if !bytes.Equal(doc.Raw[name], want) {
					t.Errorf("%s differs from the peer's file (%d vs %d bytes)", name, len(doc.Raw[name]), len(want))
				}
			}
			if doc.DG1 == nil || doc.DG1.DocumentNumber != m.DocumentNumber {
				t.Errorf("DG1 %+v", doc.DG1)
			}
			if tc.dg2 && (doc.DG2 == nil || !bytes.Equal(doc.DG2.Image, jpeg)) {
				t.Errorf("DG2 image not extracted")
			}
			for n, c := range doc.PassiveAuth.DataGroupHashes {
				if !c.Passed() {
					t.Errorf("DG%d hash %+v", n, c)
				}
			}
			if doc.PassiveAuth.Chain != emrtd.ChainNoAnchor || doc.Genuine() {
				t.Errorf("chain %s, genuine %v", doc.PassiveAuth.Chain, doc.Genuine())
			}
			t.Logf("signature %s %s; %d APDUs; files %+v", doc.PassiveAuth.Signature.Status, doc.PassiveAuth.Signature.Detail, doc.Counters.APDUs, doc.Files)
		})
	}
}
