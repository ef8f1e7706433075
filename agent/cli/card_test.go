//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/identity"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
	"motcua-agent/internal/testkit"
)

// peerDir is the third-party eMRTD peer (MOTCUA_EMRTD_PEER overrides the default).
var peerDir = func() string {
	if d := os.Getenv("MOTCUA_EMRTD_PEER"); d != "" {
		return d
	}
	// The shared folder sits beside the repository (CI clones it there).
	return filepath.Join(repoRoot(), "..", "shared", "peers", "emrtd")
}()

// peerReady skips unless the third-party card (vsmartcard's vicc, driven by the
// peer's vcard.py) can run here, and returns the built agent binary.
func peerReady(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(peerDir, "run.sh")); err != nil {
		t.Skip("third-party eMRTD peer not found at " + peerDir + " (set MOTCUA_EMRTD_PEER)")
	}
	if _, err := os.Stat("/usr/lib/python3/site-packages/virtualsmartcard"); err != nil {
		t.Skip("peer card needs vsmartcard-vpicc (vicc's python library)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import smartcard, Cryptodome, PIL").Run(); err != nil {
		t.Skip("peer card needs python3-virtualsmartcard python3-pyscard python3-pycryptodome python3-pil")
	}
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	return agentBin
}

func readJSON(t *testing.T, path string) identity.Verification {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v identity.Verification
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("card read JSON: %v\n%s", err, b)
	}
	return v
}

// The peer card: BAC and 3DES secure messaging by vicc (code nobody here wrote), a
// placeholder DG13 that is not the Vietnamese ASN.1, and an SOD signed by a throwaway
// signer. `card read` must read it, call the DG13 unparseable and the chain "no
// anchor" with a valid signature, and not fail the read.
func TestPeerCardTD1(t *testing.T) {
	bin := peerReady(t)
	for _, tc := range []struct {
		name  string
		args  []string
		keys  string
		photo int
	}{
		{"typed keys, no DG2", nil, `--doc $VCARD_DOC --dob $VCARD_DOB --expiry $VCARD_EXP`, 0},
		{"MRZ, 20 KB DG2", []string{"--bench", "20"}, `--mrz "$VCARD_MRZ"`, 18000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "read.json")
			then := bin + ` card read --reader "$VCARD_READER" ` + tc.keys + ` --json > ` + out
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(peerDir, "run.sh"), append(tc.args, "--then", then)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("run.sh: %v\n%s", err, b)
			}
			v := readJSON(t, out)
			checkPeerRead(t, v, "099012345", tc.photo)
		})
	}
}

// checkPeerRead checks a read of the peer card; minPhoto is the least portrait size
// expected, 0 for a card without DG2.
func checkPeerRead(t *testing.T, v identity.Verification, doc string, minPhoto int) {
	photo := minPhoto > 0
	t.Helper()
	if v.Access == nil || v.Access.Method != "BAC" {
		t.Fatalf("access %+v", v.Access)
	}
	if v.Holder == nil || v.Holder.DocumentNumber != doc {
		t.Fatalf("holder %+v", v.Holder)
	}
	if v.Checks.DataGroupHashes["DG1"] != "passed" {
		t.Fatalf("DG1 hash %v", v.Checks.DataGroupHashes)
	}
	if photo && (v.Photo == nil || v.Photo.Bytes < minPhoto || v.Checks.DataGroupHashes["DG2"] != "passed") {
		t.Fatalf("photo %+v, hashes %v", v.Photo, v.Checks.DataGroupHashes)
	}
	if !photo && v.Photo != nil {
		t.Fatalf("photo %+v on a card without DG2", v.Photo)
	}
	if v.Checks.Signature.Status != "passed" || v.Checks.Chain != "no anchor" {
		t.Fatalf("signature %+v chain %s", v.Checks.Signature, v.Checks.Chain)
	}
	if v.Checks.DG13.Status != "error" || !strings.Contains(v.Checks.DG13.Detail, "DG13") {
		t.Fatalf("DG13 check %+v", v.Checks.DG13)
	}
	if v.Outcome != identity.OutcomeFailed || v.Reason != identity.ReasonNoAnchor {
		t.Fatalf("outcome %s/%s", v.Outcome, v.Reason)
	}
}

// A TD3 (passport-format) MRZ on the same third-party card, started directly with the
// peer's vcard.py (run.sh builds TD1 only).
func TestPeerCardTD3(t *testing.T) {
	bin := peerReady(t)
	dir := t.TempDir()
	mrz := "P<VNMNGUYEN<<THI<LAN<<<<<<<<<<<<<<<<<<<<<<<<\nC0123456<5VNM8807124F3201015<<<<<<<<<<<<<<<6"
	dg13 := filepath.Join(dir, "dg13.val")
	os.WriteFile(dg13, []byte("placeholder DG13 (fictional)"), 0o644)
	py := "/usr/bin/python3"
	vcardPy := filepath.Join(peerDir, "vcard.py")
	opts := []string{"--mrz", mrz, "--dg-value", "13=" + dg13, "--dg2-jpeg", filepath.Join(repoRoot(), "testdata", "cards", "photo-a.jpg")}
	if _, err := exec.LookPath("openssl"); err == nil {
		sod := filepath.Join(dir, "sod.bin")
		if b, err := exec.Command(py, append([]string{vcardPy, "--write-sod", sod}, opts...)...).CombinedOutput(); err != nil {
			t.Fatalf("vcard.py --write-sod: %v\n%s", err, b)
		}
		opts = append(opts, "--sod", sod)
	}
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emu := exec.CommandContext(ctx, py, append([]string{vcardPy, "--port", "35963", "--ready-file", ready}, opts...)...)
	emu.Cancel = func() error { return emu.Process.Signal(os.Interrupt) }
	emu.WaitDelay = 5 * time.Second
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		emu.Process.Signal(os.Interrupt)
		emu.Wait()
		wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer wcancel()
		pcsctest.WaitCard(wctx, vpcd.ReaderName(vpcd.DefaultAddr), false)
	}()
	testkit.Eventually(t, 20*time.Second, func() bool { st, err := os.Stat(ready); return err == nil && st.Size() > 0 },
		"peer card did not connect to vpcd")
	if err := pcsctest.WaitCard(ctx, vpcd.ReaderName(vpcd.DefaultAddr), true); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "card", "read", "--reader", vpcd.ReaderName(vpcd.DefaultAddr), "--mrz", mrz, "--json").Output()
	if err != nil {
		t.Fatalf("card read: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "read.json")
	os.WriteFile(path, out, 0o644)
	v := readJSON(t, path)
	if v.Checks.Signature.Status == "" { // no openssl: no SOD to check
		t.Skip("openssl missing: the peer card has no SOD")
	}
	checkPeerRead(t, v, "C0123456", 2000)
}

// `card read --qr` on every testdata citizen's virtual card, through pcscd.
func TestCardReadEveryProfile(t *testing.T) {
	pcsctest.Require(t, vpcd.DefaultAddr)
	pcsctest.LockReader(t, vpcd.DefaultAddr)
	bin := agentBin
	trustDir := t.TempDir()
	if out, err := exec.Command(bin, "trust", "import", "--trust", trustDir, "../../testdata/cards/pki/test/csca.der").CombinedOutput(); err != nil {
		t.Fatalf("trust import: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	paths, _ := filepath.Glob("../../testdata/cards/*.json")
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			c, err := simcard.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			card, err := c.Card(simcard.Options{})
			if err != nil {
				t.Fatal(err)
			}
			pcsctest.Insert(t, ctx, vpcd.DefaultAddr, card, vpcd.Options{})
			photo := filepath.Join(t.TempDir(), "photo.jpg")
			out, err := exec.CommandContext(ctx, bin, "card", "read", "--reader", vpcd.ReaderName(vpcd.DefaultAddr),
				"--qr", c.QR, "--trust", trustDir, "--photo", photo, "--json").Output()
			if err != nil {
				t.Fatalf("card read: %v\n%s", err, out)
			}
			var v identity.Verification
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			want := identity.OutcomeOK
			if c.PKI == "unknown" {
				want = identity.OutcomeFailed
			}
			if v.Outcome != want || v.Holder == nil || v.Holder.ID != c.DG13.ID || v.Checks.QR.Status != "passed" {
				t.Fatalf("result %s", out)
			}
			if _, err := os.Stat(photo); (err == nil) != (c.Photo != "") {
				t.Fatalf("photo file: %v, profile photo %q", err, c.Photo)
			}
		})
	}
}
