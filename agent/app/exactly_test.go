package app_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"motcua-agent/agent/app"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/faultproxy"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/hub"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// TestMain lets the test binary play the agent process that the exactly-once test
// starts and kills.
func TestMain(m *testing.M) {
	if os.Getenv("MOTCUA_EXACT_AGENT") == "1" {
		os.Exit(exactChild())
	}
	os.Exit(m.Run())
}

var ict = time.FixedZone("ICT", 7*3600)

var exactDays = []string{"2026-11-20", "2026-11-21", "2026-11-22"}

// exactEvent is one counted fact as a flow would record it: a ticket, a gate peak and a
// visitor. Visitor keys repeat within one life (the store counts each once a day) and
// never across lives, so the truth is the same whichever record a life wrote to.
func exactEvent(rng *rand.Rand, life int) store.Event {
	day := exactDays[rng.IntN(len(exactDays))]
	at, _ := time.ParseInLocation("2006-01-02", day, ict)
	at = at.Add(9*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
	svc := []string{"1", "3", "13"}[rng.IntN(3)]
	return store.Event{Time: at, Kind: "exact.test", Counts: []store.Count{
		{Metric: vocab.TicketsIssued, Dims: map[string]string{vocab.DimService: svc}, Value: 1},
		{Metric: vocab.GatePeakOccupancy, Dims: map[string]string{vocab.DimHour: "09"}, Op: store.OpMax, Value: int64(rng.IntN(500))},
		{Metric: vocab.GateUniqueVisitors, Op: store.OpUnique, Key: fmt.Sprintf("life%d-visitor%d", life, rng.IntN(8))},
	}}
}

func exactClient(src upload.Source, hubURL string, secret []byte) (*upload.Client, error) {
	return upload.NewClient(upload.ClientConfig{
		HubURL: hubURL, Site: "S1", Device: "pc1", Secret: secret,
		Interval: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		BatchSize: 7, Timeout: 5 * time.Second,
	}, src)
}

// exactChild is one life of the agent: the real record, the real upload client, events
// appended as fast as a busy office would, until it is killed.
func exactChild() int {
	life, _ := strconv.Atoi(os.Getenv("MOTCUA_EXACT_LIFE"))
	secret, _ := hex.DecodeString(os.Getenv("MOTCUA_EXACT_SECRET"))
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: os.Getenv("MOTCUA_EXACT_DB"), Location: ict,
		Logger: nil})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		return 2
	}
	c, err := exactClient(app.StoreSource{Store: st}, os.Getenv("MOTCUA_EXACT_HUB"), secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	go c.Run(ctx)
	rng := rand.New(rand.NewPCG(uint64(life), 7))
	for n := 0; ; n++ {
		if _, err := st.Append(ctx, exactEvent(rng, life)); err != nil {
			fmt.Fprintln(os.Stderr, "child: append:", err)
			return 2
		}
		if n == 15 {
			fmt.Println("working")
		}
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
	}
}

// truth folds every event any of the agent's records acknowledged, each once (by its
// boot and seq: an older copy shares its first events with the record it was copied
// from).
type truth struct {
	seen    map[string]bool
	add     map[string]int64
	max     map[string]int64
	uniques map[string]map[string]bool
}

func newTruth() *truth {
	return &truth{seen: map[string]bool{}, add: map[string]int64{}, max: map[string]int64{}, uniques: map[string]map[string]bool{}}
}

func (tr *truth) take(t *testing.T, path string) int {
	t.Helper()
	ctx := context.Background()
	rec, err := store.OpenReadOnly(ctx, path, ict)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer rec.Close()
	n := 0
	f := store.EventFilter{Limit: 5000}
	for {
		evs, err := rec.Events(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			f.AfterSeq = e.Seq
			id := e.Boot + "/" + strconv.FormatInt(e.Seq, 10)
			if tr.seen[id] {
				continue
			}
			tr.seen[id] = true
			n++
			for _, c := range e.Counts {
				k := e.Day + "|" + c.Metric + "|" + wire.CanonicalDims(c.Dims)
				switch c.Op {
				case store.OpMax:
					tr.max[k] = max(tr.max[k], c.Value)
				case store.OpUnique:
					if tr.uniques[k] == nil {
						tr.uniques[k] = map[string]bool{}
					}
					tr.uniques[k][c.Key] = true
				default:
					tr.add[k] += c.Value
				}
			}
		}
		if len(evs) < f.Limit {
			return n
		}
	}
}

func (tr *truth) totals() map[string]int64 {
	out := map[string]int64{}
	for k, v := range tr.add {
		out[k] = v
	}
	for k, v := range tr.max {
		out[k] = v
	}
	for k, v := range tr.uniques {
		out[k] = int64(len(v))
	}
	return out
}

// restartableHub is the real hub on a fixed address, so it can be stopped and started
// again under the same URL.
type restartableHub struct {
	t    *testing.T
	path string
	addr string
	h    *hub.Hub
	srv  *http.Server
}

func (rh *restartableHub) start() {
	rh.t.Helper()
	h, err := hub.Open(rh.path, hub.Options{})
	if err != nil {
		rh.t.Fatal(err)
	}
	var ln net.Listener
	for range 100 {
		if ln, err = net.Listen("tcp", rh.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		rh.t.Fatal(err)
	}
	rh.addr = ln.Addr().String()
	rh.h, rh.srv = h, &http.Server{Handler: h.Handler()}
	go rh.srv.Serve(ln)
}

func (rh *restartableHub) stop() {
	rh.srv.Close()
	rh.h.Close()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// The province's numbers are exact whatever happens at the site: 100 SIGKILLs of an
// agent writing to its real record and pushing through a proxy that drops, delays,
// duplicates and reorders requests, and in the same run the hub restarted, the record
// moved aside as damaged, and the record replaced by an older copy (the newer file then
// recovered with `store recover`). At the end the hub's totals equal the fold of every
// event any of the agent's records acknowledged.
func TestExactlyOnceRealStoreAndHub(t *testing.T) {
	dir := t.TempDir()
	rh := &restartableHub{t: t, path: filepath.Join(dir, "hub.db"), addr: "127.0.0.1:0"}
	rh.start()
	defer func() { rh.stop() }()
	raw, err := rh.h.Enroll(context.Background(), hub.Site{Code: "S1", Province: "Nghệ An"}, "pc1")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := wire.ParseSecret(raw)
	faults := faultproxy.Faults{DropBefore: 0.1, Late: 0.1, DropAfter: 0.15, Duplicate: 0.1, Delay: 0.1, MaxDelay: 20 * time.Millisecond}
	proxy := faultproxy.Start("http://"+rh.addr, faults, 11)
	defer proxy.Close()

	db := filepath.Join(dir, "agent.db")
	backup := filepath.Join(dir, "backup.db")
	replaced := filepath.Join(dir, "replaced.db")
	tr := newTruth()
	rng := rand.New(rand.NewPCG(3, 3))
	ctx := context.Background()
	const kills = 100
	for life := range kills {
		switch life {
		case 30: // the hub's server restarts
			rh.stop()
			rh.start()
		case 45: // a nightly copy of the record
			for _, suf := range []string{"", "-wal"} {
				copyFile(t, db+suf, backup+suf)
			}
		case 60: // the record is damaged; everything it held had reached the hub
			st, err := store.Open(ctx, store.Options{Path: db, Location: ict})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := exactClient(app.StoreSource{Store: st}, proxy.URL, secret)
			for i := 0; ; i++ {
				if err := c.PushNow(ctx); err == nil && c.Status().Backlog == 0 {
					break
				}
				if i > 2000 {
					t.Fatal("could not drain the record before damaging it")
				}
			}
			st.Close()
			tr.take(t, db)
			f, _ := os.OpenFile(db, os.O_RDWR, 0)
			f.WriteAt([]byte("damaged header!\x00"), 0)
			f.Close()
		case 80: // the disk is swapped and last week's copy put back; the newer file is kept
			tr.take(t, db)
			for _, suf := range []string{"", "-wal", "-shm"} {
				os.Rename(db+suf, replaced+suf)
				os.Remove(db + suf)
			}
			for _, suf := range []string{"", "-wal"} {
				copyFile(t, backup+suf, db+suf)
			}
		}
		child := testkit.StartChild(t, []string{"MOTCUA_EXACT_AGENT=1", "MOTCUA_EXACT_DB=" + db,
			"MOTCUA_EXACT_HUB=" + proxy.URL, "MOTCUA_EXACT_SECRET=" + hex.EncodeToString(secret),
			"MOTCUA_EXACT_LIFE=" + strconv.Itoa(life)}, "working")
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		child.Kill9(t)
	}
	if m, _ := filepath.Glob(db + ".corrupt-*"); len(m) == 0 {
		t.Fatal("the damaged record was never moved aside")
	}

	// The agent's last life drains through the faults, then the faults stop.
	st, err := store.Open(ctx, store.Options{Path: db, Location: ict})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := exactClient(app.StoreSource{Store: st}, proxy.URL, secret)
	for range 30 {
		c.PushNow(ctx)
	}
	proxy.SetFaults(faultproxy.Faults{})
	if err := c.PushNow(ctx); err != nil {
		t.Fatal(err)
	}
	rewound := c.Status().Rewound
	st.Close()
	// The newer record the old copy replaced still holds events the hub never saw.
	cfg, err := config.Demo(dir, config.Overrides{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Site.ID, cfg.Site.DeviceID = "S1", "pc1"
	cfg.Sync.URL, cfg.Sync.Secret = proxy.URL, hex.EncodeToString(secret)
	res, err := app.Recover(ctx, cfg, replaced)
	if err != nil {
		t.Fatalf("recover the replaced record: %v", err)
	}
	again, err := app.Recover(ctx, cfg, replaced)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Close() // delivers requests still held back: late, old revisions
	tr.take(t, replaced)
	tr.take(t, db)

	rep, err := rh.h.Totals(ctx, hub.Query{Period: hub.Period{From: "2000-01-01", To: "2100-01-01"},
		By: []string{"device", "day", "metric", "dims"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rep.Rows {
		got[r.Keys[1]+"|"+r.Keys[2]+"|"+r.Keys[3]] = r.Value
	}
	want := tr.totals()
	bad := 0
	for k, v := range want {
		if got[k] != v {
			bad++
			t.Errorf("%s: hub %d, truth %d", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			bad++
			t.Errorf("%s: hub %d, not in the truth", k, v)
		}
	}
	s := &proxy.Stats
	t.Logf("%d kills survived; %d events acknowledged across all records; %d hub rows, %d differ; recover sent %d rows (a second run %d); rewound noticed: %v; proxy: %d requests, dropped before %d, late %d, dropped after commit %d, duplicated %d",
		kills, len(tr.seen), len(got), bad, res.Sent, again.Sent, rewound != "", s.Requests.Load(), s.DroppedBefore.Load(), s.Late.Load(),
		s.DroppedAfter.Load(), s.Duplicated.Load())
	if rewound == "" {
		t.Error("the agent on the older copy never noticed it went back in time")
	}
}
