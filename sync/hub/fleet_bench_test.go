package hub

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/pgtest"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// BenchmarkFleetLoad offers a province's fleet to real hub processes at fixed rates:
// simulated devices push signed, gzipped 20-row batches (a new revision of every row
// each time), time compressed, from a load generator on the same machine. The same run
// measures one hub on SQLite, one hub on PostgreSQL and two hubs on one PostgreSQL (the
// pushes split between them, as behind a load balancer), so the figures compare.
// Reported per rate: pushes/s sustained (answered 200 over the time until the last
// answer), p50/p99 answer time in ms measured from each push's scheduled time (a
// queue in the generator counts), and CPU ms per push of the hub processes and, on
// PostgreSQL, of the database server (also shown alone); apart, the load generator's
// CPU per push (signing, sending, reading answers), which shares the same cores.
//
// "overload" and "overload-postgres" offer rates up to and past the hub's capacity
// with one connection per push at most (as 2,000 PCs would open), so the hub, not the
// generator's connection pool, is where pushes wait: it reports besides the goodput the pushes shed (503 busy
// with Retry-After), those left without an answer or failed otherwise, and the p99 and
// the longest time to any answer (shed ones included).
//
// After the plain rates, "morning-rate=1000" offers 1,000/s of a new day on the warm
// hubs: every push its device's first of the day, as when a province's PCs start.
func BenchmarkFleetLoad(b *testing.B) {
	const devices = 2000
	const window = 3 * time.Second
	for _, cfg := range []struct {
		name  string
		hubs  int
		pg    bool
		rates []int
		conns int
	}{
		{"sqlite", 1, false, []int{500, 1000, 1400, 1700}, 200},
		{"postgres", 1, true, []int{500, 1000, 1400, 1700}, 200},
		{"postgres-2hubs", 2, true, []int{500, 1000, 1400, 1700}, 200},
		{"overload", 1, false, []int{1000, 1500, 2200, 3000, 4500}, 0},
		{"overload-postgres", 1, true, []int{500, 1000, 1500, 2200, 3000}, 0},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			db := filepath.Join(b.TempDir(), "hub.db")
			if cfg.pg {
				db = pgtest.New(b)
			}
			key := filepath.Join(b.TempDir(), "hub.key")
			fleet := enrollFleet(b, db, key, devices)
			procs := make([]*hubProcess, cfg.hubs)
			for i := range procs {
				procs[i] = &hubProcess{env: []string{hubChildEnv + "=1", "MOTCUA_HUB_CHILD_DB=" + db,
					"MOTCUA_HUB_CHILD_KEY=" + key, "MOTCUA_HUB_CHILD_QUIET=1", "MOTCUA_HUB_CHILD_CONNS=8000"}, addr: freeAddr(b), seen: func(string) {}}
				procs[i].child = testkit.StartChild(b, append(procs[i].env, "MOTCUA_HUB_CHILD_ADDR="+procs[i].addr), "serving")
			}
			defer func() {
				for _, p := range procs {
					p.child.Kill9(b)
				}
			}()
			cpu := func() (hubs, db time.Duration) {
				for _, p := range procs {
					hubs += pgtest.TreeCPU(p.child.Cmd.Process.Pid)
				}
				if cfg.pg {
					db, _ = pgtest.ServerCPU()
				}
				return hubs, db
			}
			step := func(name string, rate int) {
				b.Run(name, func(b *testing.B) {
					targets := make([]string, len(procs))
					for i, p := range procs {
						targets[i] = "http://" + p.addr + wire.PushPath
					}
					if cfg.pg {
						pgStatReset(b, db)
					}
					r := fleet.offer(b, targets, rate, window, cfg.conns, cpu)
					if cfg.pg {
						pgStatDump(b, db, fmt.Sprintf("%s rate=%d: %d pushes stored", cfg.name, rate, len(r.latencies)))
					}
					b.ReportMetric(r.perSecond, "pushes/s")
					b.ReportMetric(testkit.Ms(testkit.Percentile(r.latencies, 50)), "p50_ms")
					b.ReportMetric(testkit.Ms(testkit.Percentile(r.latencies, 99)), "p99_ms")
					b.ReportMetric(r.cpuPerPush, "cpu_ms/push")
					b.ReportMetric(r.dbCPU, "db_cpu_ms/push")
					b.ReportMetric(r.genCPU, "gen_cpu_ms/push")
					b.ReportMetric(float64(r.failed), "failed")
					b.ReportMetric(float64(r.shed), "shed")
					b.ReportMetric(testkit.Ms(testkit.Percentile(r.answers, 99)), "p99_any_ms")
					b.ReportMetric(testkit.Ms(slices.Max(r.answers)), "max_any_ms")
				})
			}
			for _, rate := range cfg.rates {
				step("rate="+strconv.Itoa(rate), rate)
			}
			if cfg.conns > 0 {
				// The next morning on the warm hubs: every push is its device's first of a new
				// day (new rows, new row counts), as when the PCs start at the office.
				fleet.day = nextDay(fleet.day)
				step("morning-rate=1000", 1000)
				// The hubs restarted in the day (an upgrade) on the warm database: new
				// processes, new connections, the same day's rows.
				for _, p := range procs {
					p.child.Kill9(b)
					p.child = testkit.StartChild(b, append(p.env, "MOTCUA_HUB_CHILD_ADDR="+p.addr), "serving")
				}
				step("restarted-rate=1000", 1000)
				step("restarted-later-rate=1000", 1000) // the same hubs' next seconds
			}
		})
	}
}

// nextDay is the day after day (YYYY-MM-DD).
func nextDay(day string) string {
	t, _ := time.Parse(time.DateOnly, day)
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// simFleet is the enrolled devices of a benchmark and the next revision of each.
type simFleet struct {
	devices []simDevice
	day     string
}

type simDevice struct {
	name, site string
	secret     []byte
	rev        int64
}

// enrollFleet enrolls n devices over 100 sites in one transaction (Enroll one by one
// would take minutes of fsyncs) and closes the database.
func enrollFleet(b testing.TB, db, key string, n int) *simFleet {
	b.Helper()
	h, err := Open(db, Options{KeyFile: key})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	f := &simFleet{day: time.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)}
	tx, err := h.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for i := range n {
		d := simDevice{name: fmt.Sprintf("pc%04d", i), site: fmt.Sprintf("xa-%03d", i%100)}
		secret, _ := wire.NewSecret()
		d.secret, _ = wire.ParseSecret(secret)
		sealed, err := h.box.seal(d.name, secret)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO sites(site, province) VALUES(?, 'Nghệ An') ON CONFLICT(site) DO NOTHING`, d.site); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO devices(device, site, secret, enrolled_at) VALUES(?, ?, ?, '2026-01-01T00:00:00Z')`,
			d.name, d.site, sealed); err != nil {
			b.Fatal(err)
		}
		f.devices = append(f.devices, d)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return f
}

type loadResult struct {
	perSecond  float64
	latencies  []time.Duration
	cpuPerPush float64         // hubs and database server together
	dbCPU      float64         // the database server's part
	genCPU     float64         // the load generator's (this process), not in cpuPerPush
	failed     int             // not stored: shed, or no answer, or another answer
	shed       int             // answered 503 busy with Retry-After
	answers    []time.Duration // every push's time to an answer of any kind (or to its error)
}

// offer pushes at rate per second for window, round robin over the devices and the
// targets (a device goes to the other hub on its next round), and waits for every
// answer.
func (f *simFleet) offer(b *testing.B, targets []string, rate int, window time.Duration, conns int, cpu func() (hubs, db time.Duration)) loadResult {
	b.Helper()
	total := int(float64(rate) * window.Seconds())
	type push struct {
		dev  *simDevice
		body []byte
	}
	// Bodies are made before the clock starts: the generator shares the hub's cores.
	pushes := make([]push, total)
	for i := range pushes {
		d := &f.devices[i%len(f.devices)]
		d.rev++
		p := wire.PushRequest{Schema: wire.SchemaVersion, Site: d.site, Device: d.name, Snapshots: make([]wire.Snapshot, 20),
			Heartbeat: &wire.Heartbeat{Version: "bench", Clock: time.Now(), Backlog: 0}}
		for j := range p.Snapshots {
			p.Snapshots[j] = wire.Snapshot{Day: f.day, Metric: vocab.TicketsIssued,
				Dims:  map[string]string{vocab.DimService: strconv.Itoa(1 + j), "counter": "Q" + strconv.Itoa(1+j%4)},
				Value: d.rev, Revision: d.rev}
		}
		body, err := upload.EncodePush(&p, true)
		if err != nil {
			b.Fatal(err)
		}
		pushes[i] = push{dev: d, body: body}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: max(conns, 2000)}}
	lat := make([]time.Duration, total)
	ok := make([]bool, total)
	shed := make([]bool, total)
	var wg sync.WaitGroup
	hubs0, db0 := cpu()
	gen0 := selfCPU()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range pushes {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			p := pushes[i]
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, targets[(i+i/len(f.devices))%len(targets)], bytes.NewReader(p.body))
			req.Header.Set("Content-Encoding", "gzip")
			wire.Sign(req, p.dev.name, p.dev.secret, p.body, time.Now())
			resp, err := client.Do(req)
			lat[i] = time.Since(due)
			if err == nil {
				ok[i] = resp.StatusCode == http.StatusOK
				shed[i] = resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	hubs1, db1 := cpu()
	gen1 := selfCPU()
	client.CloseIdleConnections()
	r := loadResult{answers: lat}
	for i := range ok {
		if shed[i] {
			r.shed++
		}
		if ok[i] {
			r.latencies = append(r.latencies, lat[i])
		} else {
			r.failed++
		}
	}
	n := len(r.latencies)
	r.perSecond = float64(n) / elapsed.Seconds()
	if n > 0 {
		r.cpuPerPush = testkit.Ms(hubs1-hubs0+db1-db0) / float64(n)
		r.dbCPU = testkit.Ms(db1-db0) / float64(n)
		r.genCPU = testkit.Ms(gen1-gen0) / float64(n)
	}
	return r
}

// pgStatReset and pgStatDump show where the database's time goes during one rate: with
// MOTCUA_BENCH_PGSTAT=FILE, and the server started with pg_stat_statements
// (MOTCUA_PGTEST_SETTINGS="shared_preload_libraries=pg_stat_statements pg_stat_statements.track_planning=on"), the statements
// that took the most time, their calls, rows and buffers, are appended to FILE.
func pgStatReset(b *testing.B, dsn string) {
	if os.Getenv("MOTCUA_BENCH_PGSTAT") == "" {
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		b.Fatalf("pg_stat_statements (start the server with MOTCUA_PGTEST_SETTINGS=shared_preload_libraries=pg_stat_statements): %v", err)
	}
	db.Exec(`SELECT pg_stat_statements_reset()`)
}

func pgStatDump(b *testing.B, dsn, title string) {
	path := os.Getenv("MOTCUA_BENCH_PGSTAT")
	if path == "" {
		return
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "== %s\n%8s %10s %10s %10s %10s  %s\n", title, "calls", "total_ms", "plan_ms", "rows", "buffers", "statement")
	rows, err := db.Query(`SELECT calls, round(total_exec_time::numeric, 1)::text, round(total_plan_time::numeric, 1)::text, rows, shared_blks_hit + shared_blks_read,
		left(regexp_replace(query, '\s+', ' ', 'g'), 120) FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time + total_plan_time DESC LIMIT 15`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var calls, n, blocks int64
		var total, plan, q string
		if err := rows.Scan(&calls, &total, &plan, &n, &blocks, &q); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "%8d %10s %10s %10d %10d  %s\n", calls, total, plan, n, blocks, q)
	}
	// How many updates stayed on their page (HOT: no index entries written).
	tables, err := db.Query(`SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
		WHERE n_tup_upd > 0 ORDER BY n_tup_upd DESC LIMIT 8`)
	if err != nil {
		b.Fatal(err)
	}
	defer tables.Close()
	fmt.Fprintf(f, "%-20s %10s %10s %10s\n", "table", "inserts", "updates", "hot")
	for tables.Next() {
		var name string
		var ins, upd, hot int64
		if err := tables.Scan(&name, &ins, &upd, &hot); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "%-20s %10d %10d %10d\n", name, ins, upd, hot)
	}
}

// selfCPU is the user and system CPU time of this process (the load generator) so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
