package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"motcua-agent/config/vocab"
	"motcua-agent/sync/hub/totals"
	"motcua-agent/sync/wire"
)

// TestNamesTravelBesideCounters: an agent's names are kept per site, the latest
// winning, and shown on the page with the code beside them; an agent without names
// (schema 2) is still accepted; a push cannot rename another enrolled site's codes;
// a name that breaks the limits refuses the push.
func TestNamesTravelBesideCounters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		k1, k2 := th.enroll(t, "S1", "pc1"), th.enroll(t, "S2", "pc2")
		push := func(device string, key []byte, schema int, names []wire.Name, snaps ...wire.Snapshot) (int, wire.ErrorResponse) {
			t.Helper()
			site := map[string]string{"pc1": "S1", "pc2": "S2"}[device]
			b, err := json.Marshal(wire.PushRequest{Schema: schema, Site: site, Device: device, Snapshots: snaps, Names: names})
			if err != nil {
				t.Fatal(err)
			}
			status, er, _ := th.do(t, signedRequest{device: device, secret: key, body: b, at: th.now})
			return status, er
		}
		// An older agent: schema 2, no names.
		if status, er := push("pc1", k1, wire.PlainSchema, nil, snap("2026-11-23", vocab.TicketsServed, 3, 1, "service", "A", "counter", "1")); status != 200 {
			t.Fatalf("an agent without names: %d %+v", status, er)
		}
		page := getPage(t, th, "period=day&at=2026-11-23&site=S1")
		if !strings.Contains(page, ">Quầy 1</a>") {
			t.Fatalf("without names the counter is %q", "Quầy 1")
		}
		names := []wire.Name{{Kind: wire.NameCounter, Code: "1", Name: "Quầy 1 (Tầng 1)"}, {Kind: wire.NameSite, Code: "S1", Name: "Bộ phận Một cửa xã Một"}}
		if status, er := push("pc1", k1, wire.NamesSchema, names, snap("2026-11-23", vocab.TicketsServed, 4, 2, "service", "A", "counter", "1")); status != 200 {
			t.Fatalf("names: %d %+v", status, er)
		}
		// Latest wins; another site's enrolled codes are not S2's to name.
		names[0].Name = "Quầy tiếp nhận hồ sơ"
		names = append(names, wire.Name{Site: "S1", Kind: wire.NameCounter, Code: "1", Name: "bị đổi tên"})
		if status, er := push("pc1", k1, wire.NamesSchema, names[:2]); status != 200 {
			t.Fatalf("renamed: %d %+v", status, er)
		}
		// An agent names only its own site's codes: another site's, enrolled or not, is
		// refused whole (only a provincial hub names its sites).
		for _, other := range []string{"S1", "S9"} {
			n := wire.Name{Site: other, Kind: wire.NameCounter, Code: "1", Name: "bị đổi tên"}
			if status, er := push("pc2", k2, wire.NamesSchema, []wire.Name{n}); status != 422 || er.Code != wire.CodeInvalid {
				t.Fatalf("S2 naming %s's counter: %d %+v, want 422", other, status, er)
			}
		}
		page = getPage(t, th, "period=day&at=2026-11-23&site=S1")
		if !strings.Contains(page, ">Quầy tiếp nhận hồ sơ</a> <small>1</small>") || strings.Contains(page, "bị đổi tên") {
			t.Errorf("the counter's row: %s", drillCells(t, page))
		}
		places, err := th.Places(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if places[0].Site != "S1" || places[0].Name != "Bộ phận Một cửa xã Một" {
			t.Errorf("a site enrolled without a name is called what its agent calls it: %+v", places[0])
		}
		for _, bad := range []wire.Name{
			{Kind: "operator", Code: "dd-lan", Name: "Lan"},
			{Kind: wire.NameService, Code: "A", Name: strings.Repeat("ư", wire.MaxNameTextLen)},
			{Kind: wire.NameService, Code: "A", Name: "tên\x07"},
			{Kind: wire.NameService, Code: "", Name: "không mã"},
		} {
			if status, er := push("pc1", k1, wire.NamesSchema, []wire.Name{bad}); status != 422 || er.Code != wire.CodeInvalid {
				t.Errorf("name %+v: %d %+v, want 422", bad, status, er)
			}
		}
		if status, _ := push("pc1", k1, wire.PlainSchema, names[:1]); status != 422 {
			t.Errorf("names in a schema 2 body: %d, want 422", status)
		}
		// New codes push after push: the site's names stop growing at totals.MaxNamesPerSite.
		for batch := range 3 {
			var many []wire.Name
			for i := range 2000 {
				many = append(many, wire.Name{Kind: wire.NameCounter, Code: fmt.Sprintf("c%d-%d", batch, i), Name: "Quầy"})
			}
			if status, er := push("pc2", k2, wire.NamesSchema, many); status != 200 {
				t.Fatalf("batch %d: %d %+v", batch, status, er)
			}
		}
		var held int
		if err := th.rdb.QueryRow(`SELECT count(*) FROM site_names WHERE site = 'S2'`).Scan(&held); err != nil || held != totals.MaxNamesPerSite {
			t.Errorf("S2 holds %d names (%v), want the cap %d", held, err, totals.MaxNamesPerSite)
		}
	})
}
