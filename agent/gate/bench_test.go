package gate

import (
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"motcua-agent/config"
	"motcua-agent/drivers/relay"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/testkit"
)

// BenchmarkScanToRelay measures, on 4 lanes each scanned 10 times a second, the time
// from the last byte of a scan written to the scanner's pty to the relay's close
// command read on the relay's pty, with every decision durable in SQLite first.
// via-checkin is the production chain (scanner driver → check-in flow, which records
// the scan durably and publishes it → gate); direct feeds the driver's scans straight
// to the gate (one durable write per decision). The baseline is the same two pty hops
// with a bare forwarder in between (no decision, no store): the floor the operating
// system sets.
func BenchmarkScanToRelay(b *testing.B) {
	for _, c := range []struct {
		name, board string
		direct      bool
	}{{"lcus/via-checkin", config.RelayLCUS, false}, {"lcus/direct", config.RelayLCUS, true},
		{"kmtronic/via-checkin", config.RelayKMTronic, false}, {"kmtronic/direct", config.RelayKMTronic, true}} {
		b.Run(c.name, func(b *testing.B) {
			perLane := 50 * b.N
			base := baselineLatencies(b, perLane)
			lat := gateLatencies(b, c.board, perLane, c.direct)
			bp50, bp99 := testkit.Percentile(base, 50), testkit.Percentile(base, 99)
			p50, p99 := testkit.Percentile(lat, 50), testkit.Percentile(lat, 99)
			b.ReportMetric(testkit.Ms(p50), "p50_ms")
			b.ReportMetric(testkit.Ms(p99), "p99_ms")
			b.ReportMetric(testkit.Ms(bp50), "baseline_p50_ms")
			b.ReportMetric(testkit.Ms(bp99), "baseline_p99_ms")
			b.ReportMetric(float64(p99)/float64(bp99), "p99/baseline")
			b.ReportMetric(float64(p99)/float64(30*time.Millisecond), "p99/goal30ms")
		})
	}
}

var benchLanes = []string{"l1", "l2", "l3", "l4"}

// driveLanes writes perLane scans at 10/s on every lane's scanner and pairs each with
// the next close command its board receives.
func driveLanes(b *testing.B, scanners map[string]func([]byte) error, boards map[string]*relay.Simulator, perLane int) []time.Duration {
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	for li, name := range benchLanes {
		wg.Add(1)
		go func(li int, name string) {
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < perLane; i++ {
				<-tick.C
				payload := []byte(cardQR(li*10000+i) + "\r")
				if err := scanners[name](payload); err != nil {
					b.Error(err)
					return
				}
				sent := time.Now()
				for {
					select {
					case c := <-boards[name].Commands():
						if !c.Closed {
							continue
						}
						mu.Lock()
						out = append(out, c.At.Sub(sent))
						mu.Unlock()
					case <-time.After(10 * time.Second):
						b.Errorf("lane %s: no relay command for scan %d", name, i)
						return
					}
					break
				}
			}
		}(li, name)
	}
	wg.Wait()
	return out
}

func gateLatencies(b *testing.B, board string, perLane int, direct bool) []time.Duration {
	var lanes []config.GateLane
	boards := map[string]string{}
	for _, n := range benchLanes {
		lanes = append(lanes, laneCfg(n, config.LaneEntry))
		boards[n] = board
	}
	cfg := baseConfig(b, lanes...)
	r := newRigFed(b, cfg, boards, time.Now(), direct)
	r.clock.Set(time.Now())
	defer r.close()
	scanners := map[string]func([]byte) error{}
	sims := map[string]*relay.Simulator{}
	for n, l := range r.lanes {
		scanners[n], sims[n] = l.scanner.Write, l.board
	}
	b.ResetTimer()
	out := driveLanes(b, scanners, sims, perLane)
	b.StopTimer()
	if occ := r.g.Occupancy(); occ != len(benchLanes)*perLane {
		b.Fatalf("occupancy %d after %d entries: some scans were not allowed", occ, len(benchLanes)*perLane)
	}
	return out
}

// baselineLatencies: scanner pty → bare line forwarder → relay pty, no decision.
func baselineLatencies(b *testing.B, perLane int) []time.Duration {
	if _, err := exec.LookPath("socat"); err != nil {
		b.Skip("socat is not installed")
	}
	dir := b.TempDir()
	scanners := map[string]func([]byte) error{}
	sims := map[string]*relay.Simulator{}
	board, _ := relay.BoardFor(config.GateRelay{Board: config.RelayLCUS, Channel: 1})
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	for _, n := range benchLanes {
		sp, rp := startPair(b, dir, n+"-scan"), startPair(b, dir, n+"-relay")
		w, err := scanner.OpenSimulator(sp)
		if err != nil {
			b.Fatal(err)
		}
		scanners[n] = w.Write
		in, err := serial.Open(sp.Device, &serial.Mode{BaudRate: 9600})
		if err != nil {
			b.Fatal(err)
		}
		outp, err := serial.Open(rp.Device, &serial.Mode{BaudRate: 9600})
		if err != nil {
			b.Fatal(err)
		}
		if sims[n], err = relay.Simulate(rp.Host, board); err != nil {
			b.Fatal(err)
		}
		sim := sims[n]
		closers = append(closers, func() { w.Close(); in.Close(); outp.Close(); sim.Close() })
		go func() {
			buf := make([]byte, 512)
			for {
				k, err := in.Read(buf)
				if err != nil || k == 0 {
					return
				}
				for _, c := range buf[:k] {
					if c == '\r' {
						outp.Write(board.Close)
					}
				}
			}
		}()
	}
	return driveLanes(b, scanners, sims, perLane)
}
