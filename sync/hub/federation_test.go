package hub

import (
	"context"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/faultproxy"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub/federation"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// memSource is an agent's record in memory: absolute values per (day, metric, dims),
// each change with the next revision of one sequence, as the agent's store does.
type memSource struct {
	mu   sync.Mutex
	seq  int64
	rows map[string]*upload.Counter
	meta map[string]string
}

func newMemSource() *memSource {
	return &memSource{rows: map[string]*upload.Counter{}, meta: map[string]string{}}
}

// add folds one change in: metrics that fold by maximum keep the largest value.
func (m *memSource) add(day, metric string, dims map[string]string, v int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := day + "|" + metric + "|" + wire.CanonicalDims(dims)
	r := m.rows[k]
	if r == nil {
		r = &upload.Counter{Day: day, Metric: metric, Dims: dims, Epoch: "e1"}
		m.rows[k] = r
	}
	if d, ok := vocab.Lookup(metric); ok && d.Kind == vocab.Max {
		if v <= r.Value {
			return
		}
		r.Value = v
	} else {
		r.Value += v
	}
	m.seq++
	r.Revision = m.seq
}

func (m *memSource) CountersChangedSince(_ context.Context, after int64, limit int) ([]upload.Counter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []upload.Counter
	for _, r := range m.rows {
		if r.Revision > after {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memSource) Meta(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	return v, ok, nil
}

func (m *memSource) SetMeta(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[key] = value
	return nil
}

// each calls f with every row.
func (m *memSource) each(f func(upload.Counter)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rows {
		f(*r)
	}
}

type fedAgent struct {
	province, site, commune string
	src                     *memSource
	client                  *upload.Client
}

type fedProvince struct {
	code, name string
	hub        *Hub
	srv        *httptest.Server
	proxy      *faultproxy.Proxy // between this hub and the national hub
	up         *Upstream
	agents     []*fedAgent
}

func openFedHub(t *testing.T, name string, clock *testkit.Clock) (*Hub, *httptest.Server) {
	t.Helper()
	h, err := newBackend(t).open(Options{Now: clock.Now, OpenFleet: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return h, srv
}

// pushUntilAccepted repeats a push through a misbehaving proxy until it goes through.
func pushUntilAccepted(t *testing.T, what string, push func(context.Context) error) {
	t.Helper()
	var err error
	for range 100 {
		if err = push(context.Background()); err == nil {
			return
		}
	}
	t.Fatalf("%s: still failing after 100 attempts: %v", what, err)
}

// TestFederation: three provincial hubs of twenty agents each push to one national hub
// through proxies that drop, duplicate and reorder requests; one province's link is
// down for a week while its agents keep counting. At the end the national totals, per
// province, commune, site and metric, equal the sum of every agent's counters.
func TestFederation(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		start := time.Date(2026, 11, 9, 3, 0, 0, 0, time.UTC) // 10:00 in Vietnam
		clock := testkit.NewClock(start)
		national, nsrv := openFedHub(t, "national", clock)

		names := []string{"Tỉnh Nghệ An", "Tỉnh Hà Tĩnh", "Tỉnh Quảng Trị"}
		var provinces []*fedProvince
		for i, name := range names {
			p := &fedProvince{code: fmt.Sprintf("P%d", i+1), name: name}
			secret, err := national.EnrollUpstream(ctx, Site{Code: p.code, Province: name}, "hub-"+p.code)
			if err != nil {
				t.Fatal(err)
			}
			key, _ := wire.ParseSecret(secret)
			p.hub, p.srv = openFedHub(t, p.code, clock)
			p.proxy = faultproxy.Start(nsrv.URL, faultproxy.Faults{DropBefore: 0.1, Late: 0.05, DropAfter: 0.15, Duplicate: 0.15}, uint64(i+7))
			t.Cleanup(p.proxy.Close)
			p.up, err = federation.New(p.hub.federation(), UpstreamConfig{URL: p.proxy.URL, Site: p.code, Device: "hub-" + p.code, Secret: key,
				Clock: clock, BatchSize: 150})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.up.Close)
			for a := range 20 {
				site := fmt.Sprintf("%s-S%02d", p.code, a/2+1) // two counters' PCs per site
				commune := fmt.Sprintf("Xã Số %d", a/4+1)      // two sites per commune
				device := fmt.Sprintf("%s-%c", site, 'a'+a%2)
				secret, err := p.hub.Enroll(ctx, Site{Code: site, Name: "Bộ phận Một cửa " + site, Province: name, Commune: commune}, device)
				if err != nil {
					t.Fatal(err)
				}
				key, _ := wire.ParseSecret(secret)
				ag := &fedAgent{province: p.code, site: site, commune: commune, src: newMemSource()}
				ag.client, err = upload.NewClient(upload.ClientConfig{HubURL: p.srv.URL, Site: site, Device: device, Secret: key,
					Clock: clock}, ag.src)
				if err != nil {
					t.Fatal(err)
				}
				p.agents = append(p.agents, ag)
			}
			provinces = append(provinces, p)
		}
		offline := provinces[2]

		rng := rand.New(rand.NewPCG(1, 2))
		count := func(ag *fedAgent, day string) {
			for _, svc := range []string{"1.001", "2.002", "3.003"} {
				ag.src.add(day, vocab.TicketsIssued, map[string]string{vocab.DimService: svc}, rng.Int64N(20)+1)
				ag.src.add(day, vocab.TicketsServed, map[string]string{vocab.DimService: svc, vocab.DimCounter: "Q1"}, rng.Int64N(20))
				ag.src.add(day, vocab.DossiersReceived, map[string]string{vocab.DimService: svc}, rng.Int64N(5))
			}
			ag.src.add(day, vocab.GatePeakOccupancy, map[string]string{vocab.DimHour: "09"}, rng.Int64N(80))
		}
		const days = 9
		var atWeekStart map[string]int64 // the offline province's national totals when its link went down
		for d := range days {
			now := start.AddDate(0, 0, d)
			clock.Set(now)
			day := now.In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
			for _, p := range provinces {
				for i, ag := range p.agents {
					count(ag, day)
					if d > 0 && i%3 == 0 { // a late correction to yesterday
						ag.src.add(now.AddDate(0, 0, -1).In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly),
							vocab.TicketsIssued, map[string]string{vocab.DimService: "1.001"}, 1)
					}
					if err := ag.client.PushNow(ctx); err != nil {
						t.Fatalf("agent %s day %s: %v", ag.site, day, err)
					}
				}
				down := p == offline && d >= 1 && d < 8
				p.proxy.SetDown(down)
				if down {
					if d == 1 {
						atWeekStart = nationalByMetric(t, national, p.code)
					}
					if err := p.up.PushNow(ctx); err == nil {
						t.Fatalf("day %s: the push of %s went through a link that is down", day, p.code)
					}
					continue
				}
				pushUntilAccepted(t, p.code+" "+day, p.up.PushNow)
			}
			if d == 7 {
				// A week offline: the national hub still has the totals of the day before the
				// link went down, and the provincial hub shows the failures and the backlog.
				if got := nationalByMetric(t, national, offline.code); !equalTotals(got, atWeekStart) {
					t.Fatalf("national totals of %s moved while its link was down: %v, was %v", offline.code, got, atWeekStart)
				}
				st, ok, err := offline.hub.UpstreamStatus(ctx)
				if err != nil || !ok {
					t.Fatalf("upstream status: %v %v", ok, err)
				}
				if st.Failures < 7 || st.Backlog == 0 || st.LastError == "" || st.LastErrorVi == "" {
					t.Fatalf("after a week offline the status should show failures and a backlog: %+v", st)
				}
				// The provincial page says so in Vietnamese, beside the fleet.
				page := fedPage(t, offline.srv.URL)
				for _, want := range []string{"Gửi số liệu lên cấp quốc gia", "Lỗi lần gửi gần nhất", st.LastErrorVi} {
					if !strings.Contains(page, html.EscapeString(want)) {
						t.Fatalf("the provincial page after a week offline lacks %q", want)
					}
				}
			}
		}
		// Bring every link back clean and flush; then deliver what the proxies held back
		// (requests from earlier pushes arriving late) and check that nothing changed.
		for _, p := range provinces {
			p.proxy.SetFaults(faultproxy.Faults{})
			pushUntilAccepted(t, p.code+" final", p.up.PushNow)
			st, _, err := p.hub.UpstreamStatus(ctx)
			if err != nil || st.Backlog != 0 || st.Failures != 0 {
				t.Fatalf("%s after catching up: %+v %v", p.code, st, err)
			}
			if page := fedPage(t, p.srv.URL); !strings.Contains(page, "Gửi số liệu lên cấp quốc gia") || strings.Contains(page, "Lỗi lần gửi gần nhất") {
				t.Fatalf("%s: the page after catching up should show the upstream without an error", p.code)
			}
		}
		var faults int64
		for _, p := range provinces {
			faults += p.proxy.Stats.DroppedAfter.Load() + p.proxy.Stats.Duplicated.Load() + p.proxy.Stats.Late.Load()
			p.proxy.Close()
		}
		if faults == 0 {
			t.Fatal("the proxies injected no faults: the test proves nothing about exactly-once")
		}

		// Expected: the sum of every agent's counters (a peak's per-agent values summed, as
		// the province's own report sums devices).
		want := map[string]int64{}
		for _, p := range provinces {
			for _, ag := range p.agents {
				ag.src.each(func(c upload.Counter) {
					want["province,metric|"+p.name+"|"+c.Metric] += c.Value
					want["province,commune,metric|"+p.name+"|"+ag.commune+"|"+c.Metric] += c.Value
					want["site,metric|"+ag.site+"|"+c.Metric] += c.Value
				})
			}
		}
		month, _ := ParsePeriod("month", "2026-11")
		got := map[string]int64{}
		for _, by := range [][]string{{"province", "metric"}, {"province", "commune", "metric"}, {"site", "metric"}} {
			rep, err := national.Totals(ctx, Query{Period: month, By: by})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Rows {
				got[strings.Join(by, ",")+"|"+strings.Join(r.Keys, "|")] += r.Value
			}
		}
		if !equalTotals(got, want) {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: national %d, agents %d", k, got[k], v)
				}
			}
			for k, v := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: national %d, no agent counted it", k, v)
				}
			}
			t.FailNow()
		}
		if len(want) != 3*4+3*5*4+30*4 {
			t.Fatalf("expected %d groups, built %d", 3*4+3*5*4+30*4, len(want))
		}

		// Each provincial hub's own report by day agrees with the national hub's for it,
		// and the national hub filters by a site named only in the dims.
		for _, p := range provinces {
			local, err := p.hub.Totals(ctx, Query{Period: month, By: []string{"day", "metric"}})
			if err != nil {
				t.Fatal(err)
			}
			remote, err := national.Totals(ctx, Query{Period: month, By: []string{"day", "metric"}, Filter: Filter{Province: p.name}})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(local.Rows) != fmt.Sprint(remote.Rows) {
				t.Fatalf("%s by day: provincial %v, national %v", p.code, local.Rows, remote.Rows)
			}
		}
		one, err := national.Totals(ctx, Query{Period: month, By: []string{"commune", "metric"},
			Filter: Filter{Site: "P2-S03", Metric: vocab.TicketsIssued}})
		if err != nil {
			t.Fatal(err)
		}
		if len(one.Rows) != 1 || one.Rows[0].Keys[0] != "Xã Số 2" || one.Rows[0].Value != want["site,metric|P2-S03|"+vocab.TicketsIssued] {
			t.Fatalf("national filtered by site P2-S03: %+v", one.Rows)
		}

		// The national fleet lists the provincial hubs, each with its agents in one line.
		fleet, err := national.Fleet(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fleet) != 3 {
			t.Fatalf("national fleet: %d entries, want the 3 provincial hubs", len(fleet))
		}
		for _, f := range fleet {
			if len(f.Devices) != 1 || f.Devices[0].State != "ok" || !strings.HasPrefix(f.Devices[0].Detail, "20 agents enrolled, 0 silent") {
				t.Errorf("national fleet entry %s: %+v", f.Device, f.Devices)
			}
		}

		// The national page groups by province.
		resp, err := http.Get(nsrv.URL + "/?period=month&at=2026-11&by=province")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, name := range names {
			if !strings.Contains(string(body), name) {
				t.Errorf("national page by province does not show %s", name)
			}
		}
		// One level down: the province's communes, named by its rows, and no unnamed
		// row for the provincial hub's own enrollment.
		resp, err = http.Get(nsrv.URL + "/?period=month&at=2026-11&province=" + url.QueryEscape(names[0]))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "Xã Số 1") || strings.Contains(string(body), "chưa ghi") {
			t.Errorf("national page of %s: its communes should be listed, and no unnamed row", names[0])
		}
		// The lists offer the province's communes and sites, named by its rows.
		for _, want := range []string{`<option>Xã Số 5</option>`, `<option value="` + provinces[0].code + `-S01"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("national page of %s: the lists lack %s", names[0], want)
			}
		}
	})
}

// nationalByMetric is one province's national totals per metric, this month.
func nationalByMetric(t *testing.T, national *Hub, province string) map[string]int64 {
	t.Helper()
	month, _ := ParsePeriod("month", "2026-11")
	rep, err := national.Totals(context.Background(), Query{Period: month, By: []string{"device", "metric"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rep.Rows {
		if r.Keys[0] == "hub-"+province {
			out[r.Keys[1]] = r.Value
		}
	}
	return out
}

func equalTotals(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestUpstreamLease: two hub processes on one database; only the lease holder
// uploads, and the other takes over once the holder lets go or goes silent.
func TestUpstreamLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		clock := testkit.NewClock(time.Date(2026, 11, 9, 3, 0, 0, 0, time.UTC))
		national, nsrv := openFedHub(t, "national", clock)
		secret, err := national.EnrollUpstream(context.Background(), Site{Code: "P1", Province: "Tỉnh Nghệ An"}, "hub-P1")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := wire.ParseSecret(secret)
		prov := newBackend(t) // one database, two hub processes
		var ups []*Upstream
		for _, holder := range []string{"a", "b"} {
			h, err := prov.open(Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			u, err := federation.New(h.federation(), UpstreamConfig{URL: nsrv.URL, Site: "P1", Device: "hub-P1", Secret: key, Clock: clock, Holder: holder})
			if err != nil {
				t.Fatal(err)
			}
			ups = append(ups, u)
		}
		a, b := ups[0], ups[1]
		if err := a.PushNow(context.Background()); err != nil {
			t.Fatalf("first holder: %v", err)
		}
		if err := b.PushNow(context.Background()); err != federation.ErrNotLeader {
			t.Fatalf("second process while the first holds the lease: %v, want federation.ErrNotLeader", err)
		}
		clock.Add(federation.LeaseTTL + time.Second) // a went silent
		if err := b.PushNow(context.Background()); err != nil {
			t.Fatalf("second process after the lease expired: %v", err)
		}
		if err := a.PushNow(context.Background()); err != federation.ErrNotLeader {
			t.Fatalf("first process after losing the lease: %v, want federation.ErrNotLeader", err)
		}
		b.Close() // gives the lease up at once
		if err := a.PushNow(context.Background()); err != nil {
			t.Fatalf("first process after the second let go: %v", err)
		}
	})
}

// TestLoadUpstreamFile reads the lines `hub enroll` prints and names what is missing.
func TestLoadUpstreamFile(t *testing.T) {
	secret, _ := wire.NewSecret()
	dir := t.TempDir()
	cases := []struct {
		name, text, problem string
	}{
		{"enroll output", fmt.Sprintf("site:\n  id: \"P40\"\n  device_id: \"hub-P40\"\nsync:\n  url: \"https://quocgia.example:8607\"\n  secret: %q\n", secret), ""},
		{"no secret", "site:\n  id: P40\n  device_id: hub-P40\nsync:\n  url: https://x\n", "sync.secret"},
		{"no device", fmt.Sprintf("site:\n  id: P40\nsync:\n  url: https://x\n  secret: %q\n", secret), "site.device_id"},
		{"open to all", "", "chmod 600"},
		{"typo", fmt.Sprintf("site:\n  id: P40\n  device: hub-P40\nsync:\n  url: https://x\n  secret: %q\n", secret), "device"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if c.text == "" {
			os.WriteFile(path, []byte(cases[0].text), 0o644)
			os.Chmod(path, 0o644)
		}
		cfg, err := LoadUpstreamFile(path)
		switch {
		case c.problem == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.problem == "" && (cfg.Site != "P40" || cfg.Device != "hub-P40" || cfg.URL != "https://quocgia.example:8607" || len(cfg.Secret) == 0):
			t.Errorf("%s: read %+v", c.name, cfg)
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.problem)
		}
	}
}

// TestUpstreamSendsHistory: a provincial hub that counted before it was given an
// upstream (no day marked, as a hub from before the national tier) sends its whole
// history on its first push; a commune name longer than a dimension value may be is
// shortened, not left out.
func TestUpstreamSendsHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
		national, nsrv := openFedHub(t, "national", clock)
		prov, psrv := openFedHub(t, "prov", clock)
		long := strings.Repeat("Phường Hưng Dũng ", 6) // 114 bytes
		secret, err := prov.Enroll(ctx, Site{Code: "S1", Province: "Tỉnh Nghệ An", Commune: long}, "S1-a")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := wire.ParseSecret(secret)
		src := newMemSource()
		for d := range 30 {
			src.add(time.Date(2026, 10, 20+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), vocab.TicketsIssued,
				map[string]string{vocab.DimService: "1.001"}, int64(d+1))
		}
		agent, err := upload.NewClient(upload.ClientConfig{HubURL: psrv.URL, Site: "S1", Device: "S1-a", Secret: key, Clock: clock}, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := agent.PushNow(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := prov.db.Exec(`DELETE FROM upstream_dirty`); err != nil {
			t.Fatal(err)
		}
		secret, err = national.EnrollUpstream(ctx, Site{Code: "P40", Province: "Tỉnh Nghệ An"}, "hub-P40")
		if err != nil {
			t.Fatal(err)
		}
		key, _ = wire.ParseSecret(secret)
		up, err := federation.New(prov.federation(), UpstreamConfig{URL: nsrv.URL, Site: "P40", Device: "hub-P40", Secret: key, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer up.Close()
		if err := up.PushNow(ctx); err != nil {
			t.Fatal(err)
		}
		if st := up.Status(); st.Unsendable != 0 || st.Backlog != 0 || st.Sent != 30 {
			t.Fatalf("status after the first push: %+v", st)
		}
		p := Period{From: "2026-10-01", To: "2026-11-30"}
		rep, err := national.Totals(ctx, Query{Period: p, By: []string{"province", "commune", "site"}})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(long[:wire.MaxDimValueLen], "") // the cut, without a split character
		if len(rep.Rows) != 1 || rep.Rows[0].Value != 30*31/2 || rep.Rows[0].Keys[1] != want || rep.Rows[0].Keys[2] != "S1" {
			t.Fatalf("national totals: %+v, want commune %q, site S1, 465", rep.Rows, want)
		}
		// Nothing changed: a second push sends nothing and the totals stay.
		if err := up.PushNow(ctx); err != nil {
			t.Fatal(err)
		}
		if st := up.Status(); st.Sent != 30 {
			t.Fatalf("a second push with nothing changed sent rows: %+v", st)
		}
	})
}

// TestUpstreamLoop: the background uploader that `hub --upstream` starts pushes what
// the agents sent, and gives its lease up when it stops.
func TestUpstreamLoop(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
		national, nsrv := openFedHub(t, "national", clock)
		prov, psrv := openFedHub(t, "prov", clock)
		secret, err := national.EnrollUpstream(ctx, Site{Code: "P40", Province: "Tỉnh Nghệ An"}, "hub-P40")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "upstream.yaml")
		if err := os.WriteFile(path, fmt.Appendf(nil, "site:\n  id: \"P40\"\n  device_id: \"hub-P40\"\nsync:\n  url: %q\n  secret: %q\n", nsrv.URL, secret), 0o600); err != nil {
			t.Fatal(err)
		}
		up, err := prov.StartUpstreamFrom(path)
		if err != nil {
			t.Fatal(err)
		}
		secret, err = prov.Enroll(ctx, Site{Code: "S1", Province: "Tỉnh Nghệ An", Commune: "Xã Hưng Nguyên"}, "S1-a")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := wire.ParseSecret(secret)
		// A row stored before the hub checked dims, which the national hub refuses: left
		// out, it must not hold back the province's other rows.
		if _, err := prov.db.Exec(`INSERT INTO counters(device, day, metric, dims, epoch, value, revision)
			VALUES('S1-a', '2026-11-20', ?, '{"note":"Nguyễn Văn Tèo"}', '', 1000, 1)`, vocab.TicketsIssued); err != nil {
			t.Fatal(err)
		}
		src := newMemSource()
		src.add("2026-11-20", vocab.TicketsIssued, map[string]string{vocab.DimService: "1.001"}, 42)
		agent, err := upload.NewClient(upload.ClientConfig{HubURL: psrv.URL, Site: "S1", Device: "S1-a", Secret: key, Clock: clock}, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := agent.PushNow(ctx); err != nil {
			t.Fatal(err)
		}
		day, _ := ParsePeriod("day", "2026-11-20")
		var got int64
		// The loop's first pass may have run before the agent's push: trigger it again
		// until the national hub holds the province's total.
		testkit.Eventually(t, 10*time.Second, func() bool {
			up.Trigger()
			rep, err := national.Totals(ctx, Query{Period: day, By: []string{"commune"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Rows) == 1 && rep.Rows[0].Keys[0] == "Xã Hưng Nguyên" {
				got = rep.Rows[0].Value
			}
			return got == 42
		}, "the national hub never received the province's total: %s", func() string { return strconv.FormatInt(got, 10) })
		up.Close()
		var n int
		if err := prov.rdb.QueryRow(`SELECT count(*) FROM upstream_lease`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("lease rows after Close: %d %v", n, err)
		}
	})
}

// fedPage is a hub's page as a statistician's browser gets it.
func fedPage(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %s %v", resp.Status, err)
	}
	return string(b)
}
