package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"motcua-agent/internal/testkit"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary act as the child of the kill -9 test: it appends from
// several goroutines and prints each acknowledged seq.
func TestMain(m *testing.M) {
	if path := os.Getenv("MOTCUA_STORE_CHILD"); path != "" {
		os.Exit(childAppender(path))
	}
	os.Exit(m.Run())
}

func childAppender(path string) int {
	s, err := Open(context.Background(), Options{Path: path, Location: ict, AnyMetric: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				e, err := s.Append(context.Background(), Event{Kind: "crash.test", Counter: strconv.Itoa(w),
					Counts: []Count{{Metric: "appends", Dims: map[string]string{"w": strconv.Itoa(w)}, Value: 1},
						{Metric: "visitors", Op: OpUnique, Key: strconv.Itoa(i % 37)},
						{Metric: "peak", Op: OpMax, Value: int64(i)}}})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, e.Seq)
				out.Flush()
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	return 0
}

func TestDurabilityUnderKill9(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill -9 loop skipped in -short mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	acked := map[int64]bool{}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const rounds = 12
	for round := 0; round < rounds; round++ {
		child := testkit.SpawnChild(t, "MOTCUA_STORE_CHILD="+path)
		// Kill after a random number of acknowledgements, i.e. at a random moment in
		// the middle of group commits; every ack printed before the kill counts.
		killAfter := 20 + rng.Intn(400)
		ack := func(line string) {
			if q, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64); err == nil {
				acked[q] = true
			}
		}
		n := 0
		for line := range child.Lines {
			ack(line)
			if n++; n == killAfter {
				break
			}
		}
		if n < killAfter {
			t.Fatalf("round %d: child stopped after %d acks", round, n)
		}
		for _, line := range child.Kill9(t) {
			ack(line)
		}
	}
	s := openTest(t, dir, Options{Path: path})
	ctx := context.Background()
	last, err := s.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, EventFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	present := map[int64]bool{}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("seqs not contiguous: position %d holds seq %d", i, e.Seq)
		}
		present[e.Seq] = true
	}
	for q := range acked {
		if !present[q] {
			t.Fatalf("acknowledged seq %d lost (last %d)", q, last)
		}
	}
	rows, _ := s.Counters(ctx, "")
	fold, _ := s.Fold(ctx)
	if !reflect.DeepEqual(rows, fold) {
		t.Fatalf("counters differ from the fold of events\nrows %+v\nfold %+v", rows, fold)
	}
	t.Logf("%d rounds, %d acknowledged, %d stored", rounds, len(acked), len(evs))
}
