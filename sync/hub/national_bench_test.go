package hub

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/config/vocab"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub/federation"
	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/wire"
)

// countingTransport counts the request bodies' bytes as sent (gzip when the client
// compresses).
type countingTransport struct {
	next  http.RoundTripper
	bytes atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.bytes.Add(r.ContentLength)
	return c.next.RoundTrip(r)
}

// benchProvinceDay fills one provincial hub with one day of its sites' counters: 100
// sites in 30 communes, 20 rows each (four metrics by five services), written straight
// to its tables (the agents' pushes are not what is measured here).
func benchProvinceDay(b *testing.B, h *Hub, province, day string) {
	b.Helper()
	tx, err := h.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	metrics := []string{vocab.TicketsIssued, vocab.TicketsServed, vocab.DossiersReceived, vocab.DossiersDigitized}
	for s := range 100 {
		site := fmt.Sprintf("%s-S%03d", province, s+1)
		device := site + "-a"
		if _, err := tx.Exec(`INSERT INTO sites(site, name, province, commune) VALUES(?, ?, ?, ?) ON CONFLICT(site) DO NOTHING`,
			site, "Bộ phận Một cửa "+site, province, fmt.Sprintf("Xã Số %d", s%30+1)); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO devices(device, site, secret, enrolled_at) VALUES(?, ?, 'x', '2026-01-01T00:00:00Z') ON CONFLICT(device) DO NOTHING`,
			device, site); err != nil {
			b.Fatal(err)
		}
		for i, m := range metrics {
			for svc := range 5 {
				dims := wire.CanonicalDims(map[string]string{vocab.DimService: fmt.Sprintf("%d.%03d", svc+1, svc+1)})
				if _, err := tx.Exec(`INSERT INTO counters(device, day, metric, dims, epoch, value, revision) VALUES(?, ?, ?, ?, '', ?, ?)`,
					device, day, m, dims, int64(s*7+i*3+svc+1), int64(i*5+svc+1)); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if _, err := tx.Exec(`INSERT INTO upstream_dirty(day) VALUES(?) ON CONFLICT(day) DO NOTHING`, day); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// baselineRow is what a plain upload would send: the totals without revisions,
// epochs or signatures.
type baselineRow struct {
	Day    string            `json:"day"`
	Metric string            `json:"metric"`
	Dims   map[string]string `json:"dims"`
	Value  int64             `json:"value"`
}

// baselineReceiver is the simple receiver a competent engineer would write first: one
// gzip JSON POST per province, stored with "last write wins" in one transaction, on the
// same SQLite settings as the hub. No authentication, no replay or ordering guarantees.
func baselineReceiver(b *testing.B) *httptest.Server {
	db, err := sql.Open("sqlite3", store.SQLiteDSN(filepath.Join(b.TempDir(), "baseline.db")))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE totals(province TEXT NOT NULL, day TEXT NOT NULL, metric TEXT NOT NULL, dims TEXT NOT NULL,
		value INTEGER NOT NULL, PRIMARY KEY(province, day, metric, dims))`); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var rows []baselineRow
		if err := json.NewDecoder(zr).Decode(&rows); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		province := r.URL.Query().Get("province")
		tx, err := db.Begin()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer tx.Rollback()
		st, err := tx.Prepare(`INSERT INTO totals(province, day, metric, dims, value) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(province, day, metric, dims) DO UPDATE SET value = excluded.value`)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer st.Close()
		for _, row := range rows {
			if _, err := st.Exec(province, row.Day, row.Metric, wire.CanonicalDims(row.Dims), row.Value); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		if err := tx.Commit(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	return srv
}

// baselineBody is a province's day of totals by site and commune as one gzip JSON
// array, and its size before gzip.
func baselineBody(b *testing.B, h *Hub, day string) ([]byte, int) {
	rows, err := h.rdb.Query(`SELECT c.metric, c.dims, d.site, coalesce(s.commune, ''), sum(c.value)
		FROM device_counters c JOIN devices d ON d.device = c.device LEFT JOIN sites s ON s.site = d.site
		WHERE c.day = ? GROUP BY c.metric, c.dims, d.site, s.commune`, day)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var plain []baselineRow
	for rows.Next() {
		var r baselineRow
		var dims, site, commune string
		if err := rows.Scan(&r.Metric, &dims, &site, &commune, &r.Value); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal([]byte(dims), &r.Dims); err != nil {
			b.Fatal(err)
		}
		r.Dims[DimSite], r.Dims[DimCommune], r.Day = site, commune, day
		plain = append(plain, r)
	}
	raw, _ := json.Marshal(plain)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // as the upload client compresses
	zw.Write(raw)
	zw.Close()
	return buf.Bytes(), len(raw)
}

// BenchmarkNationalDay: a day of 34 provinces' totals (100 sites × 20 rows each)
// ingested at the national hub through the signed protocol, against one plain gzip
// JSON POST per province of the same totals into the same SQLite settings. Reported
// per province: ours end to end (the provincial hub's refresh of its outbox, then the
// push: outbox read, encode, gzip, sign, HTTP, validate, commit), the refresh alone, and
// the baseline end to end (one GROUP BY, encode, gzip, POST, store); and the day's
// bytes on the wire for both.
func BenchmarkNationalDay(b *testing.B) {
	const provinces = 34
	ctx := context.Background()
	start := time.Date(2026, 11, 9, 3, 0, 0, 0, time.UTC)
	clock := testkit.NewClock(start)
	national, err := Open(filepath.Join(b.TempDir(), "national.db"), Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer national.Close()
	nsrv := httptest.NewServer(national.Handler())
	defer nsrv.Close()
	base := baselineReceiver(b)
	wireBytes := &countingTransport{next: http.DefaultTransport}

	type prov struct {
		code string
		hub  *Hub
		up   *Upstream
	}
	var ps []prov
	for i := range provinces {
		code := fmt.Sprintf("P%02d", i+1)
		secret, err := national.EnrollUpstream(ctx, Site{Code: code, Province: "Tỉnh " + code}, "hub-"+code)
		if err != nil {
			b.Fatal(err)
		}
		key, _ := wire.ParseSecret(secret)
		h, err := Open(filepath.Join(b.TempDir(), code+".db"), Options{Now: clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		up, err := federation.New(h.federation(), UpstreamConfig{URL: nsrv.URL, Site: code, Device: "hub-" + code, Secret: key,
			Clock: clock, Transport: wireBytes})
		if err != nil {
			b.Fatal(err)
		}
		defer up.Close()
		ps = append(ps, prov{code, h, up})
	}

	var pushTime, refreshTime, baseTime time.Duration
	var baseBytes, baseRaw int64
	var rows int
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		now := start.AddDate(0, 0, n)
		clock.Set(now)
		day := now.Format(time.DateOnly)
		for _, p := range ps {
			benchProvinceDay(b, p.hub, p.code, day)
		}
		b.StartTimer()
		t0 := time.Now()
		for _, p := range ps {
			c, err := p.up.Refresh(ctx)
			if err != nil {
				b.Fatal(err)
			}
			rows += c
		}
		t1 := time.Now()
		for _, p := range ps {
			if err := p.up.Send(ctx); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		refreshTime += t1.Sub(t0)
		pushTime += t2.Sub(t1)
		b.StopTimer()

		// The baseline computes the same totals with one query per province and posts
		// them: what a simple implementation does each time, with nothing to diff.
		t3 := time.Now()
		for _, p := range ps {
			body, raw := baselineBody(b, p.hub, day)
			baseRaw += int64(raw)
			baseBytes += int64(len(body))
			resp, err := http.Post(base.URL+"/?province="+p.code, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Fatalf("baseline: %s", resp.Status)
			}
		}
		baseTime += time.Since(t3)
		b.StartTimer()
	}
	b.StopTimer()
	if want := b.N * provinces * 100 * 20; rows != want {
		b.Fatalf("outbox rows %d, want %d", rows, want)
	}
	month, _ := ParsePeriod("month", start.Format("2006-01"))
	rep, err := national.Totals(ctx, Query{Period: month, By: []string{"metric"}})
	if err != nil || len(rep.Rows) != 4 {
		b.Fatalf("national totals: %v %v", rep.Rows, err)
	}
	per := float64(b.N * provinces)
	ours := pushTime + refreshTime
	b.ReportMetric(float64(ours.Nanoseconds())/per, "ns/province")
	b.ReportMetric(float64(refreshTime.Nanoseconds())/per, "refresh-ns/province")
	b.ReportMetric(float64(baseTime.Nanoseconds())/per, "baseline-ns/province")
	b.ReportMetric(float64(ours)/float64(baseTime), "time/baseline")
	b.ReportMetric(float64(wireBytes.bytes.Load())/float64(b.N), "wire-bytes/day")
	b.ReportMetric(float64(baseBytes)/float64(b.N), "baseline-bytes/day")
	b.ReportMetric(float64(baseRaw)/float64(b.N), "baseline-raw-bytes/day")
	b.ReportMetric(float64(wireBytes.bytes.Load())/float64(baseBytes), "wire/baseline-bytes")
}
