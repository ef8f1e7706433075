package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/pgtest"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// summaryQueries are the groupings the page and the reports ask the summaries for.
var summaryQueries = []Query{
	{By: []string{"metric"}},
	{By: []string{"province", "metric"}},
	{By: []string{"commune", "metric"}},
	{By: []string{"site", "metric"}},
	{By: []string{"metric", "day"}},
	{By: []string{"site", "day"}, Filter: Filter{Metric: vocab.TicketsIssued}},
	{By: []string{"commune", "site", "day"}, Filter: Filter{Metric: vocab.GatePeakOccupancy}},
	{By: []string{"site", "metric"}, Filter: Filter{Province: "Nghệ An", Commune: "Xã Hưng Nguyên"}},
	{By: []string{"metric"}, Filter: Filter{Site: "S2"}},
	{By: []string{"commune", "metric"}, Filter: Filter{Province: "Hà Tĩnh"}},
	{By: []string{"counter", "metric"}, Filter: Filter{Site: "S1"}},
	{By: []string{"counter", "site", "day"}, Filter: Filter{Metric: vocab.TicketsIssued}},
	{By: []string{"metric", "day"}, Filter: Filter{Site: "S1", Counter: "Q1"}},
}

// checkSummaries compares every summary query, and the table of essential services,
// with the same computed from the raw rows.
func checkSummaries(t *testing.T, h *Hub, p Period) {
	t.Helper()
	ctx := context.Background()
	for _, q := range summaryQueries {
		q.Period = p
		got, err := h.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := h.store.RawTotals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Fatalf("by %v %+v: summaries %v, raw rows %v", q.By, q.Filter, got.Rows, want.Rows)
		}
	}
	for _, f := range []Filter{{}, {Site: "S1"}, {Commune: "Xã Hưng Nguyên"}, {Province: "Hà Tĩnh"}} {
		got, err := h.Services(ctx, p, f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := h.totals.RawServices(ctx, p, f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("services %+v: summaries %+v, raw rows %+v", f, got.Total, want.Total)
		}
	}
}

// Random groups of pushes from agents at three sites and a provincial hub naming its
// own sites and communes (a national hub's rows), with epochs, older revisions,
// replays, a counter twice in a group and a peak metric, committed by several writer
// shards: after every group the summaries give the totals the raw rows give, and each
// answer's highest revision is the device's largest held.
func TestSummariesAddUpToRawRows(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		th := startHub(t)
		ctx := context.Background()
		for _, e := range []struct {
			site    Site
			devices []string
		}{
			{Site{Code: "S1", Province: "Nghệ An", Commune: "Xã Hưng Nguyên"}, []string{"pc1", "pc2"}},
			{Site{Code: "S2", Province: "Nghệ An", Commune: "Phường Vinh Hưng"}, []string{"pc3"}},
			{Site{Code: "S3", Province: "Hà Tĩnh", Commune: "Xã Can Lộc"}, []string{"pc4"}},
		} {
			for _, d := range e.devices {
				if _, err := th.Enroll(ctx, e.site, d); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := th.EnrollUpstream(ctx, Site{Code: "HT", Province: "Hà Tĩnh"}, "hub-ht"); err != nil {
			t.Fatal(err)
		}
		pushes := newRandomPushes(7, len(t.Name()), "n")
		month, _ := ParsePeriod("month", "2026-11")
		for g := range 40 {
			group := pushes.group(g)
			rng := pushes.rng
			res, err := th.store.CommitShard(group, th.now, int64(rng.IntN(4)))
			if err != nil {
				t.Fatal(err)
			}
			for i, j := range group {
				if res[i].Replay || res[i].OverBudget {
					continue
				}
				var held int64
				if err := th.rdb.QueryRow(`SELECT coalesce(max(revision), 0) FROM counters WHERE device = ?`, j.Device()).Scan(&held); err != nil {
					t.Fatal(err)
				}
				if res[i].MaxRevision != held {
					t.Fatalf("group %d job %d: answer's highest revision %d, the device holds %d", g, i, res[i].MaxRevision, held)
				}
			}
			checkSummaries(t, th.Hub, month)
		}
		var n int
		if err := th.rdb.QueryRow(`SELECT count(*) FROM counters`).Scan(&n); err != nil || n < 100 {
			t.Fatalf("only %d rows held (%v): the test stores too little to mean anything", n, err)
		}
	})
}

// A database from before migration 10 gets its summaries and its devices' highest
// revisions from the rows it holds.
func TestSummariesBackfilled(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		be := newBackend(t)
		h, err := be.open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i, d := range []string{"pc1", "pc2", "pc3"} {
			if _, err := h.Enroll(ctx, Site{Code: "S" + strconv.Itoa(1+i%2), Province: "Nghệ An", Commune: "Xã " + strconv.Itoa(i%2)}, d); err != nil {
				t.Fatal(err)
			}
		}
		var group []*store.Job
		for i, d := range []string{"pc1", "pc2", "pc3", "pc1"} {
			group = append(group, store.NewJob(d, "S"+strconv.Itoa(1+(i%3)%2), "n"+strconv.Itoa(i), &wire.PushRequest{
				Schema: wire.SchemaVersion, Device: d, Snapshots: []wire.Snapshot{
					snap("2026-11-21", vocab.TicketsIssued, int64(3+i), int64(10+i), vocab.DimService, "1", vocab.DimCounter, "Q"+strconv.Itoa(i%2)),
					snap("2026-11-22", vocab.DossiersReceived, int64(5+i), int64(20+i), vocab.DimService, strconv.Itoa(i), vocab.DimChannel, "online"),
					{Day: "2026-11-22", Metric: vocab.GatePeakOccupancy, Epoch: "e" + strconv.Itoa(i), Value: int64(7 * i), Revision: int64(30 + i)},
				}}))
		}
		if _, err := h.store.Commit(group, h.now()); err != nil {
			t.Fatal(err)
		}
		// Back to schema 9: no summaries, no max_revision, the old index.
		undo := []string{`DROP TABLE place_totals`, `DROP TABLE service_totals`, `DROP TABLE counter_totals`,
			`ALTER TABLE fleet DROP COLUMN max_revision`, `CREATE INDEX counters_by_revision ON counters(device, revision)`,
			`DROP INDEX counters_by_day`, `CREATE INDEX counters_by_day ON counters(day, metric)`,
			`DELETE FROM hub_settings WHERE name = 'service_totals.catalogue'`, `DELETE FROM schema_migrations WHERE version = 10`}
		for _, q := range undo {
			if _, err := h.db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		h.Close()
		if h, err = be.open(Options{}); err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		month, _ := ParsePeriod("month", "2026-11")
		var n int
		if err := h.rdb.QueryRow(`SELECT count(*) FROM place_totals`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("place_totals holds %d rows after the migration (%v)", n, err)
		}
		checkSummaries(t, h, month)
		var rev int64
		if err := h.rdb.QueryRow(`SELECT max_revision FROM fleet WHERE device = 'pc1'`).Scan(&rev); err != nil || rev != 33 {
			t.Fatalf("pc1's highest revision %d (%v), want 33", rev, err)
		}
	})
}

// statementsOn says which of the hub's tables a statement reads.
var rawTables = regexp.MustCompile(`\b(counters|device_counters)\b`)

// A device that fills its row budget (every row a new counter code) changes neither
// what the province's page reads nor, on PostgreSQL, how many rows its queries scan:
// the page at the province and at another site reads the summaries, never the raw
// rows. The raw rows' report of the same figures, measured the same way, scans every
// row the device wrote (the measure can see them).
func TestPageCostIgnoresHostileRows(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T) {
		const budget = 1500
		th := startHub(t, func(o *Options) {
			o.RowBudget = RowBudget{DevicePerDay: budget, SitePerDay: 4 * budget}
			o.ReportToken = "tk"
		})
		ctx := context.Background()
		for i, d := range []string{"pc1", "pc2", "evil"} {
			site := Site{Code: []string{"S1", "S2", "EV"}[i], Province: "Nghệ An", Commune: []string{"Xã A", "Xã B", "Xã B"}[i]}
			if _, err := th.Enroll(ctx, site, d); err != nil {
				t.Fatal(err)
			}
		}
		day := th.now.Format("2006-01-02")
		nonce := 0
		commit := func(device, site string, snaps []wire.Snapshot) store.Result {
			nonce++
			res, err := th.store.Commit([]*store.Job{store.NewJob(device, site, "n"+strconv.Itoa(nonce),
				&wire.PushRequest{Schema: wire.SchemaVersion, Device: device, Snapshots: snaps})}, th.now)
			if err != nil {
				t.Fatal(err)
			}
			return res[0]
		}
		for _, d := range [][2]string{{"pc1", "S1"}, {"pc2", "S2"}, {"evil", "EV"}} {
			commit(d[0], d[1], []wire.Snapshot{
				snap(day, vocab.TicketsIssued, 4, 1, vocab.DimService, "1", vocab.DimCounter, "Q1"),
				snap(day, vocab.DossiersReceived, 2, 1, vocab.DimService, "2"),
			})
		}
		var mu sync.Mutex
		var queries []tracedQuery
		th.rdb.Trace(func(q string, args []any) {
			mu.Lock()
			queries = append(queries, tracedQuery{q, args})
			mu.Unlock()
		})
		pages := []string{"/?token=tk", "/?token=tk&site=S2", "/?token=tk&province=" + "Ngh%E1%BB%87%20An" + "&commune=X%C3%A3%20B"}
		cost := func() (int64, []tracedQuery) {
			mu.Lock()
			queries = nil
			mu.Unlock()
			for _, p := range pages {
				resp, err := http.Get(th.srv.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %s", p, resp.Status)
				}
			}
			mu.Lock()
			qs := append([]tracedQuery(nil), queries...)
			mu.Unlock()
			return scannedRows(t, th.Hub, qs), qs
		}
		before, qs := cost()
		for _, q := range qs {
			if rawTables.MatchString(q.q) {
				t.Fatalf("the page reads the raw rows: %s", q.q)
			}
		}
		rawBefore := scannedRows(t, th.Hub, rawReport(th.Hub, day))
		// The hostile device writes distinct rows until its budget refuses it.
		stored := 0
		for k := 0; ; k++ {
			var snaps []wire.Snapshot
			for i := range 100 {
				snaps = append(snaps, snap(day, vocab.TicketsIssued, 1_000_000, 1, vocab.DimService, "1", vocab.DimCounter, "X"+strconv.Itoa(k*100+i)))
			}
			if res := commit("evil", "EV", snaps); res.OverBudget {
				break
			}
			stored += 100
		}
		if stored < budget-100 {
			t.Fatalf("the device stored %d rows before its budget refused it", stored)
		}
		after, qs := cost()
		for _, q := range qs {
			if rawTables.MatchString(q.q) {
				t.Fatalf("the page reads the raw rows: %s", q.q)
			}
		}
		if onPostgres(t) {
			// The device's site and its fleet row may cost a row or two more, not its rows.
			if after > before+10 {
				t.Fatalf("the page scanned %d rows before the device filled its budget, %d after", before, after)
			}
			if raw := scannedRows(t, th.Hub, rawReport(th.Hub, day)); raw < rawBefore+int64(stored) {
				t.Fatalf("the raw report scanned %d rows before, %d after %d rows: the measure misses them", rawBefore, raw, stored)
			}
		}
		// The page still shows the device's total (its rows are counted, not ignored).
		rep, err := th.Totals(ctx, Query{Period: Period{From: day, To: day}, By: []string{"site"}, Filter: Filter{Metric: vocab.TicketsIssued}})
		if err != nil {
			t.Fatal(err)
		}
		want := []Row{{Keys: []string{"EV"}, Value: 4 + 1_000_000*int64(stored)}, {Keys: []string{"S1"}, Value: 4}, {Keys: []string{"S2"}, Value: 4}}
		if !reflect.DeepEqual(rep.Rows, want) {
			t.Fatalf("totals by site %v, want %v", rep.Rows, want)
		}
	})
}

type tracedQuery struct {
	q    string
	args []any
}

// rawReport is the query the page's figures took before the summaries.
func rawReport(h *Hub, day string) []tracedQuery {
	var out []tracedQuery
	h.rdb.Trace(func(q string, args []any) { out = append(out, tracedQuery{q, args}) })
	defer func() { h.rdb.Trace(nil) }()
	h.store.RawTotals(context.Background(), Query{Period: Period{From: day, To: day}, By: []string{"site", "metric"}})
	return out
}

// scannedRows is, on PostgreSQL, the rows the queries' plans scan (EXPLAIN ANALYZE:
// every scan node's rows, times its loops); 0 on SQLite, whose plans do not say.
func scannedRows(t *testing.T, h *Hub, qs []tracedQuery) int64 {
	t.Helper()
	if !h.store.Postgres() {
		return 0
	}
	var total int64
	for _, q := range qs {
		var plan string
		if err := h.db.DB.QueryRow(`EXPLAIN (ANALYZE, FORMAT JSON) `+q.q, q.args...).Scan(&plan); err != nil {
			t.Fatalf("explain %s: %v", q.q, err)
		}
		var nodes []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			total += n.Plan.scanned()
		}
	}
	return total
}

type planNode struct {
	Type  string     `json:"Node Type"`
	Rows  int64      `json:"Actual Rows"`
	Loops int64      `json:"Actual Loops"`
	Plans []planNode `json:"Plans"`
	// Rows a scan read and dropped for its filter.
	Removed int64 `json:"Rows Removed by Filter"`
}

func (n planNode) scanned() int64 {
	var s int64
	if strings.HasSuffix(n.Type, "Scan") && n.Type != "Function Scan" {
		s = (n.Rows + n.Removed) * max(n.Loops, 1)
	}
	for _, c := range n.Plans {
		s += c.scanned()
	}
	return s
}

// randomPushes makes random groups of pushes from the devices of
// TestSummariesAddUpToRawRows: epochs, older revisions, replays (nonces are
// prefixed), a counter twice in a push and a peak metric.
type randomPushes struct {
	rng    *rand.Rand
	prefix string
	revs   map[string]int64
	nonces []string
}

var randomSites = map[string]string{"pc1": "S1", "pc2": "S1", "pc3": "S2", "pc4": "S3", "hub-ht": "HT"}

func newRandomPushes(seed, stream int, prefix string) *randomPushes {
	return &randomPushes{rng: rand.New(rand.NewPCG(uint64(seed), uint64(stream))), prefix: prefix, revs: map[string]int64{}}
}

func (r *randomPushes) row(device string) wire.Snapshot {
	rng := r.rng
	days := []string{"2026-11-20", "2026-11-21", "2026-11-22"}
	services := []string{"1", "2", "25", "x.9"} // 1, 2, 25 in the catalogue
	day := days[rng.IntN(len(days))]
	var s wire.Snapshot
	switch rng.IntN(4) {
	case 0:
		s = snap(day, vocab.TicketsIssued, 0, 0, vocab.DimService, services[rng.IntN(4)], vocab.DimCounter, "Q"+strconv.Itoa(rng.IntN(3)))
	case 1:
		s = snap(day, vocab.DossiersReceived, 0, 0, vocab.DimService, services[rng.IntN(4)])
		if rng.IntN(2) == 0 {
			s.Dims[vocab.DimChannel] = "online"
		}
	case 2:
		s = snap(day, vocab.DossiersDigitized, 0, 0, vocab.DimService, services[rng.IntN(4)])
	default:
		s = snap(day, vocab.GatePeakOccupancy, 0, 0, vocab.DimHour, strconv.Itoa(8+rng.IntN(2)))
	}
	if device == "hub-ht" {
		s.Dims[DimSite] = []string{"HT-01", "HT-02"}[rng.IntN(2)]
		s.Dims[DimCommune] = []string{"Xã Can Lộc", "Xã Thạch Hà"}[rng.IntN(2)]
	}
	s.Epoch = []string{"", "e1", "e2"}[rng.IntN(3)]
	s.Value = int64(rng.IntN(50))
	r.revs[device] += int64(1 + rng.IntN(3))
	s.Revision = r.revs[device]
	if rng.IntN(6) == 0 {
		s.Revision -= int64(1 + rng.IntN(10)) // older than what the hub may hold: ignored then
	}
	return s
}

// group is the g-th group: one to six pushes.
func (r *randomPushes) group(g int) []*store.Job {
	rng := r.rng
	devices := []string{"pc1", "pc2", "pc3", "pc4", "hub-ht"}
	var group []*store.Job
	for range 1 + rng.IntN(6) {
		d := devices[rng.IntN(len(devices))]
		nonce := fmt.Sprintf("%s%d-%d", r.prefix, g, len(group))
		if len(r.nonces) > 0 && rng.IntN(8) == 0 {
			nonce = r.nonces[rng.IntN(len(r.nonces))] // a replay, of this device's or another's nonce
		} else {
			r.nonces = append(r.nonces, nonce)
		}
		p := &wire.PushRequest{Schema: wire.SchemaVersion, Site: randomSites[d], Device: d}
		for range 1 + rng.IntN(8) {
			p.Snapshots = append(p.Snapshots, r.row(d))
		}
		if rng.IntN(5) == 0 {
			p.Snapshots = append(p.Snapshots, p.Snapshots[0]) // a counter twice
			p.Snapshots[len(p.Snapshots)-1].Value++
			p.Snapshots[len(p.Snapshots)-1].Revision++
		}
		group = append(group, store.NewJob(d, randomSites[d], nonce, p))
	}
	return group
}

// Two hubs on one PostgreSQL database commit random groups of the same five devices at
// the same time, two writer loops each: however their transactions interleave, the
// summaries give the totals the raw rows give, because a writer reads a device's rows
// and writes them under the device's lock. Without it (tried: lockDevices taking
// none) the summaries drift from the rows within a few hundred groups.
func TestSummariesExactUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	dsn, key := pgtest.New(t), filepath.Join(t.TempDir(), "hub.key")
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var hubs [2]*Hub
	for i := range hubs {
		h, err := Open(dsn, Options{KeyFile: key, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		hubs[i] = h
	}
	ctx := context.Background()
	for d, site := range randomSites {
		var err error
		if d == "hub-ht" {
			_, err = hubs[0].EnrollUpstream(ctx, Site{Code: site, Province: "Hà Tĩnh"}, d)
		} else {
			_, err = hubs[0].Enroll(ctx, Site{Code: site, Province: "Nghệ An", Commune: "Xã Hưng Nguyên"}, d)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			pushes := newRandomPushes(11, w, fmt.Sprintf("w%d-", w))
			for g := range 150 {
				if _, err := hubs[w%2].store.CommitShard(pushes.group(g), now, int64(w)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	month, _ := ParsePeriod("month", "2026-11")
	checkSummaries(t, hubs[0], month)
}
