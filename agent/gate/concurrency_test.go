package gate

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/internal/testkit"
)

// TestMain lets the test binary be the child of the kill -9 test: a gate in a busy hour
// that prints each recorded decision.
func TestMain(m *testing.M) {
	if dir := os.Getenv("MOTCUA_GATE_CHILD"); dir != "" {
		os.Exit(busyGate(dir))
	}
	os.Exit(m.Run())
}

func childConfig(dir string) (*config.Config, error) {
	text := `profile: gate
site: {province_code: "40", commune_code: "17866", id: kim-lien, name: Khu di tích Kim Liên, device_id: cong-1}
gate:
  enabled: true
  capacity: 40
  reserve: 5
  duplicate_window: 1ms
  lanes:
    - {name: vao-1, direction: entry}
    - {name: vao-2, direction: entry}
    - {name: ra-1, direction: exit}
    - {name: chung, direction: both}
`
	return config.Parse([]byte(text), filepath.Join(dir, "gate.yaml"), config.Overrides{DataDir: dir})
}

var childIDs = store.NewIDHasher([]byte("child-secret-0123456789"))

func busyGate(dir string) int {
	cfg, err := childConfig(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "agent.db"), Location: ict, Logger: quietLog()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	g, err := New(ctx, Options{Config: cfg, Store: st, IDs: childIDs, Log: quietLog()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, ln := range []string{"vao-1", "vao-2", "ra-1", "chung"} {
		wg.Add(1)
		go func(i int, ln string) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(i)))
			for {
				d, err := g.OnScan(ctx, Scan{Lane: ln, Payload: []byte(cardQR(rnd.Intn(80)))})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, d.Seq, d.Outcome)
				out.Flush()
				mu.Unlock()
			}
		}(i, ln)
	}
	wg.Wait()
	return 0
}

func TestKill9InABusyHour(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	for round := 0; round < 2; round++ {
		child := testkit.SpawnChild(t, "MOTCUA_GATE_CHILD="+dir)
		lines := 0
		for range child.Lines {
			if lines++; lines == 300 {
				break
			}
		}
		child.Kill9(t)
		if lines < 300 {
			t.Fatalf("round %d: the child stopped after %d decisions", round, lines)
		}
		st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "agent.db"), Location: ict, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := childConfig(dir)
		g, err := New(context.Background(), Options{Config: cfg, Store: st, IDs: childIDs, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		occ := g.Occupancy()
		if occ < 0 || occ > 35 {
			t.Fatalf("round %d: occupancy %d outside 0..35 after restart", round, occ)
		}
		checkRecord(t, st, occ)
		if n := countInside(t, st); n != occ {
			t.Fatalf("round %d: the events leave %d inside, the gate folds %d", round, n, occ)
		}
		st.Close()
	}
}

// countInside replays the recorded entries and exits by visitor, independently of the
// gate's own fold.
func countInside(t *testing.T, st *store.Store) int {
	evs, err := st.Events(context.Background(), eventsAll)
	if err != nil {
		t.Fatal(err)
	}
	inside := map[string]bool{}
	for _, e := range evs {
		switch e.Kind {
		case KindEntry:
			var a EntryAttrs
			if err := e.Attrs.Decode(&a); err != nil {
				t.Fatal(err)
			}
			inside[a.Visitor] = true
		case KindExit:
			var a ExitAttrs
			if err := e.Attrs.Decode(&a); err != nil {
				t.Fatal(err)
			}
			delete(inside, a.Visitor)
		case KindReconciled:
			inside = map[string]bool{}
		}
	}
	return len(inside)
}

func TestTwoLanesShareOccupancyUnderConcurrentScans(t *testing.T) {
	lanes := []config.GateLane{laneCfg("a", config.LaneBoth), laneCfg("b", config.LaneBoth)}
	cfg := baseConfig(t, lanes...)
	cfg.Gate.Capacity, cfg.Gate.Reserve, cfg.Gate.DuplicateWindow = 15, 2, 0
	cfg.Gate.ClosingTime = "17:30"
	clk := testkit.NewClock(time.Date(2026, 7, 4, 17, 29, 0, 0, ict))
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "agent.db"), Location: ict,
		Now: clk.Now, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := store.NewIDHasher([]byte("test-secret-0123456789"))
	ctx := context.Background()
	g, err := New(ctx, Options{Config: cfg, Store: st, IDs: ids, Log: quietLog(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// One visitor who stays to the end: the mid-run closing always has someone to
	// reconcile, however the rush's entries and exits happen to interleave.
	if _, err := g.OnScan(ctx, Scan{Lane: "a", Payload: []byte(cardQR(999))}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var bad atomic.Value
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if o := g.Occupancy(); o < 0 || o > 13 {
				bad.Store(fmt.Sprintf("occupancy %d outside 0..13", o))
			}
		}
	}()
	var wg sync.WaitGroup
	var done atomic.Int64
	const perWorker = 150
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(w)))
			ln := []string{"a", "b"}[w%2]
			for i := 0; i < perWorker; i++ {
				if _, err := g.OnScan(ctx, Scan{Lane: ln, Payload: []byte(cardQR(rnd.Intn(30)))}); err != nil {
					t.Error(err)
					return
				}
				if done.Add(1) == 6*perWorker/2 {
					// Closing time passes in the middle of the rush.
					clk.Set(time.Date(2026, 7, 4, 17, 31, 0, 0, ict))
					if _, err := g.CheckClosing(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	var rec int64
	rows, _ := st.Counters(ctx, "")
	for _, r := range rows {
		if r.Metric == MetricReconciled {
			rec += r.Value
		}
	}
	if rec == 0 {
		t.Fatal("the mid-run closing reconciled nobody; the test did not exercise it")
	}
	checkRecord(t, st, g.Occupancy())
	if n := countInside(t, st); n != g.Occupancy() {
		t.Fatalf("events leave %d inside, the gate holds %d", n, g.Occupancy())
	}
	g2, err := New(ctx, Options{Config: cfg, Store: st, IDs: ids, Log: quietLog(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Occupancy() != g.Occupancy() {
		t.Fatalf("a restarted gate folds %d, the live one holds %d", g2.Occupancy(), g.Occupancy())
	}
}
