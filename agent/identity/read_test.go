//go:build unix

package identity_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/identity"
	"motcua-agent/drivers/cccd"
	"motcua-agent/drivers/cccd/simcard"
	"motcua-agent/drivers/emrtd"
	"motcua-agent/drivers/emrtd/vcard"
	"motcua-agent/drivers/pcsc/pcsctest"
	"motcua-agent/drivers/pcsc/vpcd"
)

const addr = vpcd.DefaultAddr

var cardsDir = filepath.Join("..", "..", "testdata", "cards")

func setup(t *testing.T) context.Context {
	t.Helper()
	pcsctest.Require(t, addr)
	pcsctest.LockReader(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	if err := pcsctest.WaitCard(ctx, vpcd.ReaderName(addr), false); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func trust(t testing.TB) *emrtd.TrustStore {
	t.Helper()
	dir := t.TempDir()
	if n, err := identity.ImportTrust(dir, filepath.Join(cardsDir, "pki", "test", "csca.der")); err != nil || n != 1 {
		t.Fatalf("import: %d, %v", n, err)
	}
	ts, err := identity.LoadTrust(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func load(t *testing.T, name string) *simcard.Citizen {
	t.Helper()
	c, err := simcard.Load(filepath.Join(cardsDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func insert(t *testing.T, ctx context.Context, c *simcard.Citizen, opt simcard.Options) (*pcsctest.Slot, *vcard.Card) {
	t.Helper()
	card, err := c.Card(opt)
	if err != nil {
		t.Fatal(err)
	}
	return pcsctest.Insert(t, ctx, addr, card, vpcd.Options{}), card
}

func qrRequest(t testing.TB, c *simcard.Citizen, ts *emrtd.TrustStore) identity.ReadRequest {
	t.Helper()
	q, err := cccd.ParseQR(c.QR)
	if err != nil {
		t.Fatal(err)
	}
	return identity.ReadRequest{Reader: vpcd.ReaderName(addr), Keys: cccd.KeysFromQR(q), QR: &q, Trust: ts}
}

// Every testdata citizen's card, read through the real pcscd with keys derived from
// its QR alone.
func TestReadEveryProfileWithQRKeys(t *testing.T) {
	ctx := setup(t)
	ts := trust(t)
	profiles, _ := filepath.Glob(filepath.Join(cardsDir, "*.json"))
	if len(profiles) < 6 {
		t.Fatalf("only %d profiles", len(profiles))
	}
	for _, path := range profiles {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			c := load(t, name)
			slot, _ := insert(t, ctx, c, simcard.Options{})
			v, err := identity.ReadCard(ctx, qrRequest(t, c, ts))
			if err != nil {
				t.Fatal(err)
			}
			wantOutcome, wantReason := identity.OutcomeOK, ""
			if c.PKI == "unknown" {
				wantOutcome, wantReason = identity.OutcomeFailed, identity.ReasonNoAnchor
			}
			if v.Outcome != wantOutcome || v.Reason != wantReason {
				t.Fatalf("outcome %s/%s (%s), want %s/%s; checks %+v", v.Outcome, v.Reason, v.Error, wantOutcome, wantReason, v.Checks)
			}
			if !v.Checks.Signature.Passed() {
				t.Fatalf("signature %+v", v.Checks.Signature)
			}
			if c.PKI == "unknown" && v.Checks.Chain != emrtd.ChainNoAnchor {
				t.Fatalf("chain %s, want no anchor", v.Checks.Chain)
			}
			wantMethod := emrtd.MethodBAC
			if c.PACE != 0 {
				wantMethod = emrtd.MethodPACECAN
			}
			if v.Access.Method != wantMethod {
				t.Fatalf("method %s, want %s", v.Access.Method, wantMethod)
			}
			if v.Checks.QR.Status != emrtd.CheckPassed || v.Checks.DG13.Status != emrtd.CheckPassed {
				t.Fatalf("QR %+v DG13 %+v", v.Checks.QR, v.Checks.DG13)
			}
			if v.Holder.ID != c.DG13.ID || v.Holder.Name != c.DG13.Name || v.Holder.Spouse != c.DG13.Spouse || v.Holder.Father != c.DG13.Father {
				t.Fatalf("holder %+v", v.Holder)
			}
			if (c.Photo != "") != (v.Photo != nil) {
				t.Fatalf("photo %+v, profile photo %q", v.Photo, c.Photo)
			}
			wantAA := emrtd.CheckAbsent
			if c.ActiveAuth != "" {
				wantAA = emrtd.CheckPassed
			}
			if v.Checks.ActiveAuth.Status != wantAA {
				t.Fatalf("active auth %+v, want %s", v.Checks.ActiveAuth, wantAA)
			}
			if c.ChipAuth && v.Checks.ChipAuth.Status != emrtd.CheckPassed {
				t.Fatalf("chip auth %+v", v.Checks.ChipAuth)
			}
			if v.APDUs == 0 || int64(v.APDUs) > slot.APDUs() {
				t.Fatalf("APDUs counted %d, the card saw %d", v.APDUs, slot.APDUs())
			}
			if name == "dung-elderly" && !strings.Contains(v.Access.KeyLabel, "991231") {
				t.Fatalf("elderly card opened with %q", v.Access.KeyLabel)
			}
			if name == "em-two-year-rule" {
				// PACE-CAN opens it; the BAC candidate must be the 40th birthday.
				q, _ := cccd.ParseQR(c.QR)
				mrz, _ := c.MRZKey()
				if k := cccd.KeysFromQR(q)[1]; k.DateOfExpiry != mrz.DateOfExpiry || !strings.Contains(k.Label, "40th") {
					t.Fatalf("two-year rule key %+v, MRZ expiry %s", k, mrz.DateOfExpiry)
				}
			}
		})
	}
}

// BAC-only cards open with the QR-derived MRZ key; PACE cards with BAC turned off on
// the terminal side are covered by the emrtd package. Here: a PACE card whose CAN is
// wrong falls back to the MRZ key over PACE or BAC, and records the attempts.
func TestWrongKeyIsAccessDeniedNamingTheMethod(t *testing.T) {
	ctx := setup(t)
	c := load(t, "cuong-spouse-cmnd")
	insert(t, ctx, c, simcard.Options{})
	req := identity.ReadRequest{Reader: vpcd.ReaderName(addr), Keys: []emrtd.AccessKey{
		{DocumentNumber: "082004567", DateOfBirth: "821010", DateOfExpiry: "421011", Label: "typed: wrong expiry"},
	}}
	v, err := identity.ReadCard(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != identity.OutcomeFailed || v.Reason != identity.ReasonAccessDenied {
		t.Fatalf("outcome %s/%s", v.Outcome, v.Reason)
	}
	if !strings.Contains(v.Error, "BAC") || len(v.Access.Attempts) != 1 || v.Access.Attempts[0].Method != emrtd.MethodBAC {
		t.Fatalf("error %q attempts %+v", v.Error, v.Access)
	}
}

func TestTamperedDG13FailsTheHashCheck(t *testing.T) {
	ctx := setup(t)
	c := load(t, "an-cccd2021")
	insert(t, ctx, c, simcard.Options{TamperDG13: true})
	v, err := identity.ReadCard(ctx, qrRequest(t, c, trust(t)))
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != identity.OutcomeFailed || v.Reason != identity.ReasonHashMismatch {
		t.Fatalf("outcome %s/%s", v.Outcome, v.Reason)
	}
	if v.Checks.DataGroupHashes["DG13"] != string(emrtd.CheckFailed) || v.Checks.DataGroupHashes["DG1"] != string(emrtd.CheckPassed) {
		t.Fatalf("hashes %v", v.Checks.DataGroupHashes)
	}
	if !v.Checks.Signature.Passed() {
		t.Fatalf("signature %+v", v.Checks.Signature)
	}
}

func TestCardPulledMidReadThenNextCardReads(t *testing.T) {
	ctx := setup(t)
	ts := trust(t)
	c := load(t, "hai-benchmark")
	card, err := c.Card(simcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slot := pcsctest.Insert(t, ctx, addr, card, vpcd.Options{PullAfter: 25})
	v, err := identity.ReadCard(ctx, qrRequest(t, c, ts))
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != identity.OutcomeFailed || v.Reason != identity.ReasonCardRemoved {
		t.Fatalf("outcome %s/%s (%s)", v.Outcome, v.Reason, v.Error)
	}
	if err := slot.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}
	insert(t, ctx, c, simcard.Options{})
	v, err = identity.ReadCard(ctx, qrRequest(t, c, ts))
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != identity.OutcomeOK {
		t.Fatalf("next card: %s/%s (%s)", v.Outcome, v.Reason, v.Error)
	}
}

// Card faults through the real pcscd: each gives a clean failed verification naming
// the step, and the next good card reads.
func TestCardFaultsFailCleanly(t *testing.T) {
	ctx := setup(t)
	ts := trust(t)
	c := load(t, "an-cccd2021")
	for _, tc := range []struct {
		name   string
		faults vcard.Faults
		req    func(*identity.ReadRequest)
		reason string
		errHas string
	}{
		{"bad MAC on a response", vcard.Faults{BadResponseMACAt: 6}, nil, identity.ReasonReadError, "MAC"},
		{"file not found on DG1", vcard.Faults{StatusWords: []vcard.StatusFault{{INS: 0xA4, FileID: 0x0101, SW: 0x6A82}}}, nil, identity.ReasonReadError, "DG1"},
		{"wrong length on every READ BINARY of DG13", vcard.Faults{StatusWords: []vcard.StatusFault{{INS: 0xB0, FileID: 0x010D, SW: 0x6F00, Repeat: true}}}, nil, identity.ReasonHashMismatch, "DG13"},
		{"card too slow", vcard.Faults{Delay: 1500 * time.Millisecond}, func(r *identity.ReadRequest) { r.Timeout = 2 * time.Second }, identity.ReasonTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slot, _ := insert(t, ctx, c, simcard.Options{Faults: tc.faults})
			req := qrRequest(t, c, ts)
			if tc.req != nil {
				tc.req(&req)
			}
			v, err := identity.ReadCard(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if v.Outcome != identity.OutcomeFailed || v.Reason != tc.reason || !strings.Contains(v.Error, tc.errHas) {
				t.Fatalf("outcome %s/%s (%s), want %s mentioning %q; checks %+v", v.Outcome, v.Reason, v.Error, tc.reason, tc.errHas, v.Checks)
			}
			if err := slot.WaitGone(ctx); err != nil {
				t.Fatal(err)
			}
			insert(t, ctx, c, simcard.Options{})
			v, err = identity.ReadCard(ctx, qrRequest(t, c, ts))
			if err != nil || v.Outcome != identity.OutcomeOK {
				t.Fatalf("next card: %v %+v", err, v)
			}
		})
	}
}
