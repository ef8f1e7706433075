package store

// Summaries: the page and the reports read totals the writer keeps, not the raw rows.
// A device may hold up to its row budget of distinct rows (a hostile one, every row of
// it); summed by place, a day's totals are a few rows per metric and site whatever the
// devices wrote, so the page costs the same.
//
//   - place_totals(day, metric, home, site, commune, shard): every device's counters,
//     their epochs folded as device_counters folds them (summed, peaks by maximum), summed
//     by place: home is the device's enrolled site (its province and commune come from
//     the sites table when read), site and commune the place the rows name (a provincial
//     hub's rows at a national hub name theirs; an agent's are its home, commune '').
//   - counter_totals(site, …, counter, shard): place_totals by counter, for the drill-down
//     within a site; its key starts with the site, so a site's page reads its own rows
//     (a device can make its own site's counters many, up to its row budget; not
//     another's).
//   - service_totals(…, service, channel, shard): the dossiers' metrics by the catalogue's
//     services (any other code is '' , the table's "other services") and channel
//     ('online' or ''), for the table of essential services.
//
// The writer adds, in the transaction that stores the rows, the difference each row
// made to its device's total (summary.go's addToSummaries; the rows are read, their
// device locked, before they are written: writer.go's lockDevices and heldRows). Each writer loop adds to its own shard, so
// two transactions never queue behind each other's commit on one hot total; readers
// sum the shards. Reports the summaries cannot answer (by counter, service, device or
// dims, or filtered by counter or service) read the raw rows as before: a counter's
// figures are a site's business, bounded by the site's row budget.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"motcua-agent/config/vocab"
)

// summaryShards is how many shards each summary row is split into.
const summaryShards = 16

// summaryMigration is migration 10: the summaries, backfilled from the rows held; the
// devices' highest revision kept in the fleet table (it was read from the counters on
// every push, through an index that every update of a row had to change too); the
// index by day made a whole key, so that a look-up of a device's rows is as precise
// through it as through the primary key (PostgreSQL, not knowing a new table's
// contents, took it for the writer's look-ups and read every row of the day for each);
// PostgreSQL leaves room in the counters' pages, so that an update that changes no
// indexed column stays on its page (a HOT update: no index entries, less to vacuum).
func summaryMigration(postgres bool) string {
	fold := `(` + deviceCountersView() + `) c JOIN devices d ON d.device = c.device`
	site := `coalesce(nullif(json_extract(c.dims, '$."` + DimSite + `"'), ''), d.site)`
	commune := `coalesce(json_extract(c.dims, '$."` + DimCommune + `"'), '')`
	counter := `coalesce(json_extract(c.dims, '$."` + vocab.DimCounter + `"'), '')`
	ddl := `CREATE TABLE IF NOT EXISTS place_totals(
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	home TEXT NOT NULL,
	site TEXT NOT NULL,
	commune TEXT NOT NULL,
	shard BIGINT NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY(day, metric, home, site, commune, shard)
);
CREATE TABLE IF NOT EXISTS service_totals(
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	home TEXT NOT NULL,
	site TEXT NOT NULL,
	commune TEXT NOT NULL,
	service TEXT NOT NULL,
	channel TEXT NOT NULL,
	shard BIGINT NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY(day, metric, home, site, commune, service, channel, shard)
);
CREATE TABLE IF NOT EXISTS counter_totals(
	site TEXT NOT NULL,
	day TEXT NOT NULL,
	metric TEXT NOT NULL,
	counter TEXT NOT NULL,
	home TEXT NOT NULL,
	commune TEXT NOT NULL,
	shard BIGINT NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY(site, day, metric, counter, home, commune, shard)
);
INSERT INTO place_totals(day, metric, home, site, commune, shard, value)
	SELECT c.day, c.metric, d.site, ` + site + `, ` + commune + `, 0, sum(c.value) FROM ` + fold + `
	GROUP BY c.day, c.metric, d.site, ` + site + `, ` + commune + `;
INSERT INTO counter_totals(site, day, metric, counter, home, commune, shard, value)
	SELECT ` + site + `, c.day, c.metric, ` + counter + `, d.site, ` + commune + `, 0, sum(c.value) FROM ` + fold + `
	GROUP BY ` + site + `, c.day, c.metric, ` + counter + `, d.site, ` + commune + `;
ALTER TABLE fleet ADD COLUMN max_revision BIGINT NOT NULL DEFAULT 0;
UPDATE fleet SET max_revision = coalesce((SELECT max(c.revision) FROM counters c WHERE c.device = fleet.device), 0);
DROP INDEX IF EXISTS counters_by_revision;
DROP INDEX IF EXISTS counters_by_day;
CREATE INDEX counters_by_day ON counters(day, metric, device, dims, epoch);`
	if postgres {
		ddl += `
ALTER TABLE counters SET (fillfactor = 80);`
	}
	return ddl
}

// summaries is what the writer needs to keep the summaries: the catalogue's codes.
type summaries struct {
	services map[string]bool
	codes    []string // sorted
}

func newSummaries(catalog []Service) *summaries {
	s := &summaries{services: map[string]bool{}}
	for _, svc := range catalog {
		for _, c := range svc.Codes {
			if !s.services[c] {
				s.services[c] = true
				s.codes = append(s.codes, c)
			}
		}
	}
	slices.Sort(s.codes)
	return s
}

// serviceMetrics are the metrics service_totals keeps.
var serviceMetrics = []string{MetricDossiersReceived, MetricDossiersDigitized}

// sync rebuilds service_totals when the catalogue's codes are not those it was built
// for (the first start after migration 10, or a province's new catalogue). Every hub
// of one database must be given the same catalogue: each rebuilds for its own.
func (s *summaries) sync(ctx context.Context, db *sqlDB) error {
	sum := sha256.Sum256([]byte(strings.Join(s.codes, "\x00")))
	want := hex.EncodeToString(sum[:])
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("service totals: begin: %w", err)
	}
	defer tx.Rollback()
	if db.d.postgres {
		// Writers add to the table under a row lock each; this waits for them and holds
		// them off until the rebuild, which reads the counters after them, commits.
		if _, err := tx.ExecContext(ctx, `LOCK TABLE service_totals IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("service totals: lock: %w", err)
		}
	}
	var have string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM hub_settings WHERE name = 'service_totals.catalogue'`).Scan(&have); err == nil && have == want {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM service_totals`); err != nil {
		return fmt.Errorf("service totals: clear: %w", err)
	}
	args := make([]any, 0, len(s.codes)+len(serviceMetrics))
	in := "''"
	if len(s.codes) > 0 {
		in = strings.TrimSuffix(strings.Repeat("?, ", len(s.codes)), ", ")
		for _, c := range s.codes {
			args = append(args, c)
		}
	}
	for _, m := range serviceMetrics {
		args = append(args, m)
	}
	service := dimExpr(vocab.DimService)
	if _, err := tx.ExecContext(ctx, `INSERT INTO service_totals(day, metric, home, site, commune, service, channel, shard, value)
		SELECT day, metric, home, site, commune, service, channel, 0, sum(value) FROM (
			SELECT c.day, c.metric, d.site AS home, coalesce(nullif(`+dimExpr(DimSite)+`, ''), d.site) AS site,
				`+dimExpr(DimCommune)+` AS commune,
				CASE WHEN `+service+` IN (`+in+`) THEN `+service+` ELSE '' END AS service,
				CASE WHEN `+dimExpr(vocab.DimChannel)+` = 'online' THEN 'online' ELSE '' END AS channel, c.value
			FROM device_counters c JOIN devices d ON d.device = c.device WHERE c.metric IN (?, ?)) x
		GROUP BY day, metric, home, site, commune, service, channel`, args...); err != nil {
		return fmt.Errorf("service totals: rebuild: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hub_settings(name, value) VALUES('service_totals.catalogue', ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`, want); err != nil {
		return fmt.Errorf("service totals: record: %w", err)
	}
	return tx.Commit()
}

// placeKey and serviceKey are summary rows (without the shard).
type placeKey struct{ day, metric, home, site, commune string }

type serviceKey struct {
	placeKey
	service, channel string
}

// addToSummaries adds to the summaries the difference the group made to each device's
// folded total of each (day, metric, dims) it wrote: held is every epoch of those as
// they were before the group, after the rows the group wrote.
func addToSummaries(ctx context.Context, tx *sqlTx, s *summaries, shard int64, group []*ingestJob, stored []int,
	held, after map[counterKey]heldRow) error {
	// Every epoch of each total the group wrote, before and after, and where it counts.
	type total struct{ device, day, metric, dims string }
	type epochs struct {
		before, after []int64
		place         placeKey
		dims          map[string]string
	}
	folds := make(map[total]*epochs, len(after))
	for _, i := range stored {
		j := group[i]
		for k := range j.push.Snapshots {
			sn := &j.push.Snapshots[k]
			t := total{j.device, sn.Day, sn.Metric, j.snapshotDims(k)}
			if _, ok := after[counterKey{t.device, t.day, t.metric, t.dims, sn.Epoch}]; !ok || folds[t] != nil {
				continue
			}
			site := sn.Dims[DimSite]
			if site == "" {
				site = j.site
			}
			folds[t] = &epochs{place: placeKey{sn.Day, sn.Metric, j.site, site, sn.Dims[DimCommune]}, dims: sn.Dims}
		}
	}
	for k, v := range held {
		if e := folds[total{k.device, k.day, k.metric, k.dims}]; e != nil {
			e.before = append(e.before, v.value)
			if _, changed := after[k]; !changed {
				e.after = append(e.after, v.value)
			}
		}
	}
	for k, v := range after {
		e := folds[total{k.device, k.day, k.metric, k.dims}]
		e.after = append(e.after, v.value)
	}
	places := map[placeKey]int64{}
	services := map[serviceKey]int64{}
	counters := map[counterTotal]int64{}
	for t, e := range folds {
		kind := vocab.Add
		if d, ok := vocab.Lookup(t.metric); ok {
			kind = d.Kind
		}
		delta := fold(kind, e.after) - fold(kind, e.before)
		pk := e.place
		places[pk] += delta // a zero too: the total exists from its first row, as in the raw rows
		counters[counterTotal{pk, e.dims[vocab.DimCounter]}] += delta
		if slices.Contains(serviceMetrics, t.metric) {
			dims := e.dims
			sk := serviceKey{placeKey: pk}
			if code := dims[vocab.DimService]; s.services[code] {
				sk.service = code
			}
			if dims[vocab.DimChannel] == "online" {
				sk.channel = "online"
			}
			services[sk] += delta
		}
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  map[string]int64
	}{
		{"place_totals", []string{"day", "metric", "home", "site", "commune"}, keyed(places, func(k placeKey) []string {
			return []string{k.day, k.metric, k.home, k.site, k.commune}
		})},
		{"counter_totals", []string{"site", "day", "metric", "counter", "home", "commune"}, keyed(counters, func(k counterTotal) []string {
			return []string{k.site, k.day, k.metric, k.counter, k.home, k.commune}
		})},
		{"service_totals", []string{"day", "metric", "home", "site", "commune", "service", "channel"}, keyed(services, func(k serviceKey) []string {
			return []string{k.day, k.metric, k.home, k.site, k.commune, k.service, k.channel}
		})},
	} {
		if err := addTotals(ctx, tx, t.table, t.cols, shard, t.rows); err != nil {
			return err
		}
	}
	return nil
}

type counterTotal struct {
	placeKey
	counter string
}

// keyed turns a summary's differences into rows keyed by their columns' values,
// joined by NUL (no code holds one).
func keyed[K comparable](m map[K]int64, cols func(K) []string) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[strings.Join(cols(k), "\x00")] += v
	}
	return out
}

// addTotals adds each difference to its row of table (key columns cols, then shard),
// in the keys' order, the same in every hub.
func addTotals(ctx context.Context, tx *sqlTx, table string, cols []string, shard int64, diffs map[string]int64) error {
	keys := slices.Sorted(maps.Keys(diffs))
	list := strings.Join(cols, ", ")
	for done, size := range tx.d.rowBatches(len(keys)) {
		text := make([][]string, len(cols))
		for c := range text {
			text[c] = make([]string, size)
		}
		shards, values := make([]int64, size), make([]int64, size)
		for r, key := range keys[done : done+size] {
			for c, v := range strings.SplitN(key, "\x00", len(cols)) {
				text[c][r] = v
			}
			shards[r], values[r] = shard, diffs[key]
		}
		columns := make([]col, 0, len(cols)+2)
		for c, name := range cols {
			columns = append(columns, textCol(name, text[c]))
		}
		cte, args := tx.d.rowsCTE("k", append(columns, numCol("shard", shards), numCol("value", values))...)
		if _, err := tx.ExecContext(ctx, `WITH `+cte+`
			INSERT INTO `+table+`(`+list+`, shard, value) SELECT `+list+`, shard, value FROM k WHERE true
			ORDER BY `+list+`
			ON CONFLICT(`+list+`, shard) DO UPDATE SET value = `+table+`.value + excluded.value`, args...); err != nil {
			return fmt.Errorf("add to %s: %w", table, err)
		}
	}
	return nil
}

// chunkStarts is chunkSizes with each chunk's first index: for start, size := range.
func chunkStarts(n, max int) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		done := 0
		for _, size := range chunkSizes(n, max) {
			if !yield(done, size) {
				return
			}
			done += size
		}
	}
}

// fold is a device's total of one (day, metric, dims) from its epochs' values: the
// largest for a peak, else their sum (device_counters' fold).
func fold(kind vocab.Kind, values []int64) int64 {
	var out int64
	for i, v := range values {
		if kind == vocab.Max {
			if i == 0 || v > out {
				out = v
			}
		} else {
			out += v
		}
	}
	return out
}

// summaryQuery answers q from place_totals when it can (grouped and filtered only by
// place, day and metric), or from counter_totals (by counter too). ok is false for the
// other reports (by service, device or dims), which read the raw rows.
func summaryQuery(q Query, exprs []string) (query string, args []any, ok bool) {
	if q.Filter.Service != "" {
		return "", nil, false
	}
	table := "place_totals"
	if q.Filter.Counter != "" || slices.Contains(q.By, "counter") {
		table = "counter_totals"
	}
	for i, k := range q.By {
		switch k {
		case "counter":
			exprs[i] = "t.counter"
		case "province":
			exprs[i] = "coalesce(s.province, '')"
		case "commune":
			exprs[i] = summaryCommune
		case "site":
			exprs[i] = "t.site"
		case "day":
			exprs[i] = "t.day"
		case "metric":
			exprs[i] = "t.metric"
		default:
			return "", nil, false
		}
	}
	where, args := summaryFilter(q.Filter)
	if q.Filter.Counter != "" {
		where += " AND t.counter = ?"
		args = append(args, q.Filter.Counter)
	}
	keys := strings.Join(exprs, ", ")
	return `SELECT ` + keys + `, sum(t.value) FROM ` + table + ` t LEFT JOIN sites s ON s.site = t.home
		WHERE t.day >= ? AND t.day <= ?` + where + `
		GROUP BY ` + keys + ` ORDER BY ` + keys, append([]any{q.Period.From, q.Period.To}, args...), true
}

// summaryCommune is communeExpr on a summary row.
const summaryCommune = "coalesce(nullif(t.commune, ''), s.commune, '')"

func summaryFilter(f Filter) (string, []any) {
	var where []string
	var args []any
	for _, c := range []struct{ expr, v string }{{"s.province", f.Province}, {summaryCommune, f.Commune}, {"t.site", f.Site}, {"t.metric", f.Metric}} {
		if c.v != "" {
			where = append(where, c.expr+" = ?")
			args = append(args, c.v)
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

// serviceTotals is Totals by service, metric and dim.channel of the dossiers' metrics
// from service_totals: the services outside the catalogue as ”, channels other than
// online as ”. ok is false when a filter needs the raw rows (a counter).
func (h *Store) ServiceTotals(ctx context.Context, p Period, f Filter) (rows []Row, ok bool, err error) {
	if f.Counter != "" || f.Service != "" || f.Metric != "" {
		return nil, false, nil
	}
	where, args := summaryFilter(f)
	res, err := h.rdb.QueryContext(ctx, `SELECT t.service, t.metric, t.channel, sum(t.value)
		FROM service_totals t LEFT JOIN sites s ON s.site = t.home
		WHERE t.day >= ? AND t.day <= ?`+where+`
		GROUP BY t.service, t.metric, t.channel ORDER BY t.service, t.metric, t.channel`, append([]any{p.From, p.To}, args...)...)
	if err != nil {
		return nil, false, fmt.Errorf("service totals query: %w", err)
	}
	defer res.Close()
	for res.Next() {
		r := Row{Keys: make([]string, 3)}
		if err := res.Scan(&r.Keys[0], &r.Keys[1], &r.Keys[2], &r.Value); err != nil {
			return nil, false, fmt.Errorf("service totals row: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, true, res.Err()
}
