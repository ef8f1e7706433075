//go:build unix

package identity

import (
	"testing"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/config"
	"motcua-agent/drivers/cccd"
)

// A card read after a clinic check-in scan leaves the photo unread (card.photo_for),
// one after a one-stop counter's scan reads it: through the flow, pcscd and vpcd.
func TestFlowReadsPhotoOnlyForPurposesThatNeedIt(t *testing.T) {
	r := newFlowRig(t)
	r.flow.d.Card.PhotoFor = map[string]bool{config.ScanForIdentity: true, config.ScanForCheckin: false}
	c := citizen(t, "hai-benchmark")
	q, err := cccd.ParseQR(c.QR)
	if err != nil {
		t.Fatal(err)
	}
	apdus := map[string]int64{}
	for _, purpose := range []string{config.ScanForCheckin, config.ScanForIdentity} {
		r.bus.Publish(bus.Message{Topic: TopicScan, Public: checkin.Scan{Kind: q.Form, Counter: "2", Purpose: purpose},
			Personal: checkin.ScanPersonal{Payload: c.QR}})
		slot := insertCitizen(t, r.ctx, c)
		m := r.next(t, "done")
		if m.Public.(Status).Outcome != OutcomeOK {
			t.Fatalf("%s: %v", purpose, m.Public)
		}
		photo := m.Personal.(Person).Photo != ""
		if photo != (purpose == config.ScanForIdentity) {
			t.Errorf("%s: photo read %v", purpose, photo)
		}
		apdus[purpose] = slot.APDUs()
		if err := slot.WaitGone(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The ~20 KB photo is most of the card's traffic.
	if apdus[config.ScanForCheckin]*2 > apdus[config.ScanForIdentity] {
		t.Errorf("APDUs without the photo %d, with it %d", apdus[config.ScanForCheckin], apdus[config.ScanForIdentity])
	}
}
