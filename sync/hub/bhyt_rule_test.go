package hub

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/wire"
)

// The province's page and its workbook state the 001/002 rule the sites' counts were
// made by: none seen, then a site that counts them as successes.
func TestPageStatesTheBHYTRule(t *testing.T) {
	th, _ := seedStats(t)
	page := getPage(t, th, "period=month&at=2026-11")
	if !strings.Contains(page, "trong kỳ không có lượt nào ra mã 001, 002") {
		t.Fatalf("the page does not state the rule when no 001/002 was seen")
	}
	secret, err := th.Enroll(context.Background(), Site{Code: "BV-1", Name: "Bệnh viện đa khoa", Province: "Nghệ An", Commune: "Phường Vinh Hưng"}, "bv-pc1")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := wire.ParseSecret(secret)
	body, _ := json.Marshal(wire.PushRequest{Schema: wire.SchemaVersion, Site: "BV-1", Device: "bv-pc1", Snapshots: []wire.Snapshot{
		snap("2026-11-22", vocab.BHYTLookups, 5, 1, "station", "tiep-don-1", "source", "chip"),
		snap("2026-11-22", vocab.BHYTLookupsOK, 5, 2, "station", "tiep-don-1"),
		snap("2026-11-22", vocab.BHYTLookupsOtherAgency, 2, 3, "station", "tiep-don-1"),
		snap("2026-11-22", vocab.BHYTLookupsOtherAgencyOK, 2, 4, "station", "tiep-don-1"),
	}})
	if status, er, _ := th.do(t, signedRequest{device: "bv-pc1", secret: key, body: body, at: statsNow}); status != 200 {
		t.Fatalf("push: %d %+v", status, er)
	}
	page = getPage(t, th, "period=month&at=2026-11&site=BV-1")
	if !strings.Contains(page, "thành công là mã 000, 003, 004 và cả mã 001, 002") {
		t.Fatalf("the page does not say 001/002 were counted as successes:\n%s", page[strings.Index(page, `id="bhyt"`):][:1500])
	}
	page = getPage(t, th, "period=month&at=2026-11")
	if !strings.Contains(page, "và cả mã 001, 002") {
		t.Fatalf("the province's page does not state the rule its only 001/002 answers were counted by")
	}
}
