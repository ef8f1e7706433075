package upload_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/sync/internal/sqlsource"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// countingTransport counts the bytes an HTTP client writes and reads on its
// connections: what goes over the wire, headers included.
type countingTransport struct {
	*http.Transport
	sent, received atomic.Int64
}

func newCountingTransport() *countingTransport {
	ct := &countingTransport{}
	d := &net.Dialer{}
	ct.Transport = &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, t: ct}, nil
	}}
	return ct
}

type countingConn struct {
	net.Conn
	t *countingTransport
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.sent.Add(int64(n))
	return n, err
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.received.Add(int64(n))
	return n, err
}

// busySiteMonth is 30 days of a busy one-stop centre: 10 counters, 25 services, every
// metric of the other flows, each row changed several times a day.
func busySiteMonth(rng *rand.Rand) [][]sqlsource.Change {
	var events [][]sqlsource.Change
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for d := range 30 {
		day := start.AddDate(0, 0, d).Format(time.DateOnly)
		for counter := 1; counter <= 10; counter++ {
			c := fmt.Sprint(counter)
			for service := 1; service <= 25; service++ {
				s := fmt.Sprint(service)
				for range 1 + rng.IntN(3) { // a citizen served: one event, several counters
					outcome := "ok"
					if rng.IntN(10) == 0 {
						outcome = "failed"
					}
					channel := "counter"
					if rng.IntN(3) == 0 {
						channel = "online"
					}
					events = append(events, []sqlsource.Change{
						{Day: day, Metric: "tickets.issued", Dims: map[string]string{"counter": c, "service": s}, Delta: 1},
						{Day: day, Metric: "tickets.served", Dims: map[string]string{"counter": c, "service": s}, Delta: 1},
						{Day: day, Metric: "dossiers.received", Dims: map[string]string{"counter": c, "service": s, "channel": channel}, Delta: 1},
						{Day: day, Metric: "dossiers.digitized", Dims: map[string]string{"counter": c, "service": s}, Delta: 1},
						{Day: day, Metric: "identity.verifications", Dims: map[string]string{"counter": c, "method": "pace", "outcome": outcome}, Delta: 1},
						{Day: day, Metric: "checkins", Dims: map[string]string{"counter": c, "kind": "qr", "outcome": outcome}, Delta: 1},
					})
				}
			}
			events = append(events, []sqlsource.Change{{Day: day, Metric: "tickets.noshow", Dims: map[string]string{"counter": c}, Delta: 1}})
		}
	}
	return events
}

type benchSite struct {
	h       *hubUnderTest
	src     *sqlsource.Source
	events  [][]sqlsource.Change
	changes int
	rows    int
}

func newBenchSite(b *testing.B) *benchSite {
	b.Helper()
	h := startHub(b, nil)
	src := openSource(b, filepath.Join(b.TempDir(), "agent.db"))
	events := busySiteMonth(rand.New(rand.NewPCG(1, 2)))
	if err := src.ApplyMany(context.Background(), events); err != nil {
		b.Fatal(err)
	}
	all, _ := src.All(context.Background())
	bs := &benchSite{h: h, src: src, events: events, rows: len(all)}
	for _, ev := range events {
		bs.changes += len(ev)
	}
	return bs
}

// BenchmarkDrainMonthBacklog drains a busy site's 30-day backlog to the hub over
// loopback with the real client, and sends a sample of the same changes the naive way
// (one uncompressed request per counter change) in the same run; it reports both per
// snapshot and the ratios for the whole month.
func BenchmarkDrainMonthBacklog(b *testing.B) {
	bs := newBenchSite(b)
	ctx := context.Background()

	// Naive baseline on a sample: one signed, uncompressed push per change, carrying the
	// changed row's running value.
	const sample = 1500
	secret := bs.h.enroll(b, "S1", "naive")
	ct := newCountingTransport()
	client := &http.Client{Transport: ct}
	running := map[string]int64{}
	sent := 0
	naiveStart := time.Now()
	for i, ev := range bs.events {
		for _, c := range ev {
			key := c.Day + c.Metric + wire.CanonicalDims(c.Dims)
			running[key] += c.Delta
			body, _ := json.Marshal(wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: "naive",
				Snapshots: []wire.Snapshot{{Day: c.Day, Metric: c.Metric, Dims: c.Dims, Value: running[key], Revision: int64(i + 1)}}})
			req, _ := http.NewRequest(http.MethodPost, bs.h.URL+wire.PushPath, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			wire.Sign(req, "naive", secret, body, time.Now())
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("naive push: %s", resp.Status)
			}
			sent++
		}
		if sent >= sample {
			break
		}
	}
	naivePerChange := time.Since(naiveStart) / time.Duration(sent)
	naiveBytesPerChange := float64(ct.sent.Load()+ct.received.Load()) / float64(sent)
	naiveMonth := naivePerChange * time.Duration(bs.changes)
	naiveMonthBytes := naiveBytesPerChange * float64(bs.changes)

	var wall time.Duration
	var wire int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		device := fmt.Sprintf("drain%d", i)
		key := bs.h.enroll(b, "S1", device)
		bs.src.SetMeta(ctx, upload.MetaWatermark, "0")
		bs.src.SetMeta(ctx, upload.MetaStatus, "{}")
		ct := newCountingTransport()
		c := newClient(b, upload.ClientConfig{HubURL: bs.h.URL, Site: "S1", Device: device, Secret: key, Transport: ct}, bs.src)
		b.StartTimer()
		start := time.Now()
		if err := c.PushNow(ctx); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		wire += ct.sent.Load() + ct.received.Load()
		if c.Status().Sent != int64(bs.rows) {
			b.Fatalf("sent %d rows, the site has %d", c.Status().Sent, bs.rows)
		}
	}
	b.StopTimer()
	drain := wall / time.Duration(b.N)
	drainBytes := float64(wire) / float64(b.N)
	b.ReportMetric(float64(bs.rows), "rows")
	b.ReportMetric(float64(bs.changes), "changes")
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(drainBytes/float64(bs.rows), "B/snapshot")
	b.ReportMetric(naiveBytesPerChange, "naive-B/change")
	b.ReportMetric(naiveMonth.Seconds(), "naive-month-s")
	b.ReportMetric(naiveMonthBytes/drainBytes, "bytes-ratio")
	b.ReportMetric(naiveMonth.Seconds()/drain.Seconds(), "time-ratio")
}

// BenchmarkHubIngest measures the hub alone: 16 agents pushing concurrently, in big
// batches (a backlog draining) and in small ones (a province's agents pushing every
// minute); reports snapshots and pushes stored per second.
func BenchmarkHubIngest(b *testing.B) {
	for _, batch := range []int{500, 5} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchIngest(b, batch) })
	}
}

func benchIngest(b *testing.B, batch int) {
	h := startHub(b, nil)
	const agents = 16
	type agent struct {
		device string
		secret []byte
		body   func(rev int64) []byte
	}
	list := make([]agent, agents)
	for i := range list {
		device := fmt.Sprintf("pc%d", i)
		list[i] = agent{device: device, secret: h.enroll(b, "S1", device)}
		list[i].body = func(rev int64) []byte {
			p := wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: device, Snapshots: make([]wire.Snapshot, batch)}
			for j := range p.Snapshots {
				p.Snapshots[j] = wire.Snapshot{Day: "2026-11-20", Metric: "tickets.issued",
					Dims: map[string]string{"service": fmt.Sprint(j % 25), "counter": fmt.Sprint(j / 25)}, Value: rev, Revision: rev}
			}
			raw, _ := upload.EncodePush(&p, true)
			return raw
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: agents}}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, a := range list {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				body := a.body(n) // a new revision each time: every snapshot is stored
				req, _ := http.NewRequest(http.MethodPost, h.URL+wire.PushPath, bytes.NewReader(body))
				req.Header.Set("Content-Encoding", "gzip")
				wire.Sign(req, a.device, a.secret, body, time.Now())
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("push: %s", resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "snapshots/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pushes/s")
}

// BenchmarkEncodePush is one agent push of 20 rows, signed-ready: the pooled gzip
// writer against a new writer per push (what EncodePush did before).
func BenchmarkEncodePush(b *testing.B) {
	p := wire.PushRequest{Schema: wire.SchemaVersion, Site: "S1", Device: "pc1", Snapshots: make([]wire.Snapshot, 20)}
	for j := range p.Snapshots {
		p.Snapshots[j] = wire.Snapshot{Day: "2026-11-20", Metric: "tickets.issued",
			Dims: map[string]string{"service": fmt.Sprint(j), "counter": "1"}, Value: int64(j), Revision: int64(j + 1)}
	}
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := upload.EncodePush(&p, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-new-writer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, err := json.Marshal(&p)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Write(raw)
			zw.Close()
		}
	})
}
