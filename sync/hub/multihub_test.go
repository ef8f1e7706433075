package hub

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"motcua-agent/internal/faultproxy"
	"motcua-agent/internal/netguard"
	"motcua-agent/internal/pgtest"
	"motcua-agent/internal/testkit"
	"motcua-agent/sync/internal/sqlsource"
	"motcua-agent/sync/upload"
	"motcua-agent/sync/wire"
)

// The test binary plays a hub process when hubChildEnv is set: it opens the database
// in $MOTCUA_HUB_CHILD_DB with the key in $MOTCUA_HUB_CHILD_KEY, serves on
// $MOTCUA_HUB_CHILD_ADDR, prints "serving", then "ok DEVICE NONCE" for every push it
// answered 200 (after the answer was written, so a line never claims more than the hub
// committed).
const hubChildEnv = "MOTCUA_HUB_CHILD"

func runHubChild() int {
	TuneRuntime() // as motcua-hub serve
	h, err := Open(os.Getenv("MOTCUA_HUB_CHILD_DB"), Options{KeyFile: os.Getenv("MOTCUA_HUB_CHILD_KEY")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hub child:", err)
		return 2
	}
	ln, err := net.Listen("tcp", os.Getenv("MOTCUA_HUB_CHILD_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hub child:", err)
		return 2
	}
	srv := h.Server()
	api := srv.Handler
	quiet := os.Getenv("MOTCUA_HUB_CHILD_QUIET") == "1"
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		api.ServeHTTP(rec, r)
		if !quiet && r.URL.Path == wire.PushPath && rec.status == http.StatusOK {
			fmt.Printf("ok %s %s\n", r.Header.Get(wire.HeaderDevice), r.Header.Get(wire.HeaderNonce))
		}
	})
	lim := netguard.Limits{}
	if n, err := strconv.Atoi(os.Getenv("MOTCUA_HUB_CHILD_CONNS")); err == nil {
		lim.PerAddress = n // a load generator on one address plays many PCs
	}
	gl := Listen(ln, srv, lim)
	fmt.Println("serving")
	return exitCode(srv.Serve(gl))
}

func exitCode(err error) int {
	fmt.Fprintln(os.Stderr, "hub child:", err)
	return 1
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// hubProcess is one hub child on a fixed address, restartable.
type hubProcess struct {
	env   []string
	addr  string
	child *testkit.Child
	wg    sync.WaitGroup
	seen  func(line string)
}

func (p *hubProcess) start(t *testing.T) {
	t.Helper()
	p.child = testkit.StartChild(t, append(p.env, "MOTCUA_HUB_CHILD_ADDR="+p.addr), "serving")
	lines := p.child.Lines
	p.wg.Go(func() {
		for line := range lines {
			p.seen(line)
		}
	})
}

func (p *hubProcess) kill(t *testing.T) {
	t.Helper()
	for _, line := range p.child.Kill9(t) {
		p.seen(line)
	}
	p.wg.Wait()
	p.child = nil
}

// spreader sends each push through one of the two hubs' fault proxies at random, as a
// load balancer would, and now and then a copy of the same signed request straight to
// the other hub at the same moment: a replay racing its original across hubs.
type spreader struct {
	mu      sync.Mutex
	rng     *rand.Rand
	proxies [2]string
	direct  [2]string
	copies  atomic.Int64
	copied  sync.WaitGroup
	answers [2]atomic.Int64 // copies the other hub answered (200 or 409)
}

func (s *spreader) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	i := s.rng.IntN(2)
	race := s.rng.Float64() < 0.2
	s.mu.Unlock()
	send := func(base string) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.URL.Scheme, r.URL.Host, r.Host = "http", strings.TrimPrefix(base, "http://"), ""
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return http.DefaultTransport.RoundTrip(r)
	}
	if race {
		s.copies.Add(1)
		s.copied.Go(func() {
			resp, err := send(s.direct[1-i])
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
				s.answers[1-i].Add(1)
			}
		})
	}
	return send(s.proxies[i])
}

// Two hub processes on one PostgreSQL database, six agents pushing through fault
// proxies to either at random (and racing copies of their requests to the other hub),
// each hub SIGKILLed and restarted several times: at the end the province's totals are
// exactly every agent's counters, and no request was accepted twice by the hubs
// together.
func TestTwoHubsOnePostgresExactUnderKills(t *testing.T) {
	t.Parallel()
	dsn := pgtest.New(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "hub.key")
	admin, err := Open(dsn, Options{KeyFile: key}) // enrolls the agents and reads the totals
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	var mu sync.Mutex
	accepted := map[string]int{} // "device nonce" → 200 answers, over both hubs and all their lives
	perHub := [2]int{}
	hubs := [2]*hubProcess{}
	for i := range hubs {
		hubs[i] = &hubProcess{
			env:  []string{hubChildEnv + "=1", "MOTCUA_HUB_CHILD_DB=" + dsn, "MOTCUA_HUB_CHILD_KEY=" + key},
			addr: freeAddr(t),
			seen: func(line string) {
				if rest, ok := strings.CutPrefix(line, "ok "); ok {
					mu.Lock()
					accepted[rest]++
					perHub[i]++
					mu.Unlock()
				}
			},
		}
		hubs[i].start(t)
	}
	defer func() {
		for _, h := range hubs {
			if h.child != nil {
				h.kill(t)
			}
		}
	}()
	faults := faultproxy.Faults{DropBefore: 0.05, Late: 0.05, DropAfter: 0.1, Duplicate: 0.1, Delay: 0.1, MaxDelay: 20 * time.Millisecond}
	sp := &spreader{rng: rand.New(rand.NewPCG(16, 2))}
	var proxies [2]*faultproxy.Proxy
	for i := range proxies {
		proxies[i] = faultproxy.Start("http://"+hubs[i].addr, faults, uint64(7+i))
		defer proxies[i].Close()
		sp.proxies[i], sp.direct[i] = proxies[i].URL, "http://"+hubs[i].addr
	}

	const agents = 6
	type agent struct {
		device string
		src    *sqlsource.Source
		client *upload.Client
	}
	list := make([]agent, agents)
	ctx := context.Background()
	for i := range list {
		a := &list[i]
		a.device = "pc" + strconv.Itoa(i)
		site := "S" + strconv.Itoa(i%3)
		secret, err := admin.Enroll(ctx, Site{Code: site, Province: "Nghệ An"}, a.device)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := wire.ParseSecret(secret)
		if a.src, err = sqlsource.Open(filepath.Join(dir, a.device+".db")); err != nil {
			t.Fatal(err)
		}
		defer a.src.Close()
		a.client, err = upload.NewClient(upload.ClientConfig{HubURL: "http://hub.invalid", Site: site, Device: a.device,
			Secret: raw, BatchSize: 20, Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
			Transport: sp}, a.src)
		if err != nil {
			t.Fatal(err)
		}
	}

	// The agents count and push while the hubs are killed.
	stop := make(chan struct{})
	var working sync.WaitGroup
	for i := range list {
		a := &list[i]
		working.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			days := []string{"2026-11-20", "2026-11-21", "2026-11-22"}
			for {
				select {
				case <-stop:
					return
				default:
				}
				day := days[rng.IntN(len(days))]
				var changes []sqlsource.Change
				for range 1 + rng.IntN(4) {
					changes = append(changes, sqlsource.Change{Day: day, Metric: "tickets.issued",
						Dims:  map[string]string{"service": strconv.Itoa(1 + rng.IntN(25)), "counter": "Q" + strconv.Itoa(1+rng.IntN(3))},
						Delta: 1 + rng.Int64N(3)})
				}
				if err := a.src.Apply(ctx, changes...); err != nil {
					t.Error(err)
					return
				}
				a.client.PushNow(ctx) // failures are the point: the next push carries the rest
			}
		})
	}
	rng := rand.New(rand.NewPCG(5, 5))
	const kills = 8
	for k := range kills {
		time.Sleep(time.Duration(150+rng.IntN(250)) * time.Millisecond)
		h := hubs[k%2]
		if rng.IntN(3) == 0 {
			h = hubs[rng.IntN(2)]
		}
		h.kill(t)
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		h.start(t)
	}
	close(stop)
	working.Wait()

	// Faults off: every agent drains through the proxies to both hubs.
	for _, p := range proxies {
		p.SetFaults(faultproxy.Faults{})
	}
	for _, a := range list {
		for i := 0; ; i++ {
			if err := a.client.PushNow(ctx); err == nil && a.client.Status().Backlog == 0 {
				break
			}
			if i > 200 {
				t.Fatalf("%s could not drain: %+v", a.device, a.client.Status())
			}
		}
	}
	sp.copied.Wait()
	for _, h := range hubs {
		h.kill(t) // collects the last lines
	}

	rep, err := admin.Totals(ctx, Query{Period: Period{From: "2000-01-01", To: "2100-01-01"}, By: []string{"device", "day", "metric", "dims"}})
	if err != nil {
		t.Fatal(err)
	}
	hubRows := map[string]int64{}
	for _, r := range rep.Rows {
		hubRows[r.Keys[0]+"|"+r.Keys[1]+"|"+r.Keys[2]+"|"+r.Keys[3]] = r.Value
	}
	want := map[string]int64{}
	for _, a := range list {
		all, err := a.src.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range all {
			want[a.device+"|"+k] = v
		}
	}
	if len(want) == 0 {
		t.Fatal("the agents counted nothing; the test proves nothing")
	}
	for k, v := range want {
		if hubRows[k] != v {
			t.Errorf("%s: hubs hold %d, the agent counted %d", k, hubRows[k], v)
		}
	}
	for k, v := range hubRows {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: hubs hold %d, no agent has the row", k, v)
		}
	}
	// The summaries both hubs kept, their writers side by side, add up to the raw rows.
	checkSummaries(t, admin, Period{From: "2000-01-01", To: "2100-01-01"})
	twice := 0
	for k, n := range accepted {
		if n > 1 {
			twice++
			t.Errorf("request %s accepted %d times", k, n)
		}
	}
	t.Logf("pushes accepted: hub A %d, hub B %d; racing copies %d (answered by A %d, B %d); accepted twice: %d; proxies: %d and %d requests",
		perHub[0], perHub[1], sp.copies.Load(), sp.answers[0].Load(), sp.answers[1].Load(), twice,
		proxies[0].Stats.Requests.Load(), proxies[1].Stats.Requests.Load())
	if perHub[0] == 0 || perHub[1] == 0 || sp.answers[0].Load() == 0 || sp.answers[1].Load() == 0 {
		t.Fatal("one hub took no pushes or no racing copy was answered: the test proves nothing")
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
