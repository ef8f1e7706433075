package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/escpos"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/internal/testkit"
)

// baselineAppend measures a bare durable store append in the same run: the floor
// under every queue operation.
func baselineAppend(b *testing.B, st *store.Store, n int) time.Duration {
	var lat []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := st.Append(context.Background(), store.Event{Kind: "bench.baseline"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	return testkit.Percentile(lat, 50)
}

// BenchmarkIssueToPrinter: from Issue to the last byte of the ticket at the far end of
// the printer's pty (the simulator has decoded the whole job).
func BenchmarkIssueToPrinter(b *testing.B) {
	pair, err := ptypair.Open(context.Background(), b.TempDir(), "printer")
	if err != nil {
		b.Skip(err)
	}
	defer pair.Close()
	dev, err := escposDevice(pair.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	jobs := make(chan time.Time, 16)
	sim := &escpos.Simulator{Width: escpos.Width80, OnJob: func(escpos.Job) { jobs <- time.Now() }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sim.Run(ctx, dev)
	p, err := escpos.New(config.Printer{Transport: "serial", Device: pair.Device, PaperWidthMM: 80})
	if err != nil {
		b.Fatal(err)
	}
	q, _, st := newTestQueue(b)
	base := baselineAppend(b, st, 50)
	const perIter = 30
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := 0; k < perIter; k++ {
			t0 := time.Now()
			tk, err := q.Issue(ctx, "C", false)
			if err != nil {
				b.Fatal(err)
			}
			data, err := escpos.Render(escpos.Ticket{Office: "UBND phường Ba Đình", Service: "Doanh nghiệp", Number: tk.Number,
				Issued: tk.IssuedAt, StatusURL: fmt.Sprintf("http://127.0.0.1:8606/ticket?n=%d", tk.Number)},
				escpos.Options{Width: escpos.Width80, NativeQR: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Print(ctx, data); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-jobs:
				lat = append(lat, at.Sub(t0))
			case <-time.After(10 * time.Second):
				b.Fatal("the ticket never reached the printer")
			}
		}
	}
	b.StopTimer()
	p50, p99 := testkit.Percentile(lat, 50), testkit.Percentile(lat, 99)
	b.ReportMetric(testkit.Ms(p50), "p50-ms")
	b.ReportMetric(testkit.Ms(p99), "p99-ms")
	b.ReportMetric(float64(p50)/float64(base), "p50/append")
}

// BenchmarkCalls20Counters: 20 counters pressing "next" together as fast as they can
// (calls/s, every call durable), and paced at 20 calls/s (p99 latency).
func BenchmarkCalls20Counters(b *testing.B) {
	cfg := &config.Queue{Enabled: true, NoShowAfterRecalls: 2, PriorityAge: 75, AverageServiceMinutes: 5,
		Services: []config.QueueService{{Code: "A", Name: "A", First: 1, Last: 9999, Weight: 1}}}
	for i := 1; i <= 20; i++ {
		cfg.Counters = append(cfg.Counters, config.QueueCounter{ID: fmt.Sprint(i), Services: []string{"A"}})
	}
	c := testkit.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, ict))
	st := openStore(b, filepath.Join(b.TempDir(), "agent.db"), c.Now)
	defer st.Close()
	q, err := Open(context.Background(), Options{Config: cfg, Store: st, Log: quietLog(), Now: c.Now})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	base := baselineAppend(b, st, 50)
	const perCounter = 10
	var rate float64
	var paced []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := 0; k < 20*perCounter*2; k++ {
			if _, err := q.Issue(ctx, "A", false); err != nil {
				b.Fatal(err)
			}
		}
		// Flat out.
		var wg sync.WaitGroup
		t0 := time.Now()
		for ctr := 1; ctr <= 20; ctr++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < perCounter; k++ {
					if _, err := q.Next(ctx, fmt.Sprint(ctr), CloseFinish); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		rate = float64(20*perCounter) / time.Since(t0).Seconds()
		// Paced: one call every 50 ms, round-robin over the counters.
		var mu sync.Mutex
		tick := time.NewTicker(50 * time.Millisecond)
		for k := 0; k < 20*perCounter; k++ {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.Now()
				if _, err := q.Next(ctx, fmt.Sprint(k%20+1), CloseFinish); err != nil {
					b.Error(err)
				}
				mu.Lock()
				paced = append(paced, time.Since(t))
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(rate, "calls/s")
	b.ReportMetric(testkit.Ms(testkit.Percentile(paced, 50)), "paced-p50-ms")
	b.ReportMetric(testkit.Ms(testkit.Percentile(paced, 99)), "paced-p99-ms")
	b.ReportMetric(float64(testkit.Percentile(paced, 99))/float64(base), "p99/append-p50")
}

func escposDevice(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDWR, 0) }
