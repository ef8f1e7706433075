package clinic

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/bhyt"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

var ict = time.FixedZone("ICT", 7*3600)

// rig is a reception with real parts: a QR scanner per station on a socat pty pair
// read by the scanner driver, the check-in flow publishing its scans, the record in a
// SQLite file, the gateway simulator over HTTP on loopback, and the clinic flow.
type rig struct {
	t        testing.TB
	dir      string
	cfg      *config.Config
	clock    *testkit.Clock
	st       *store.Store
	bus      *bus.Bus
	hl       *health.Registry
	sim      *bhyt.Simulator
	simAddr  string
	accounts *bhyt.Accounts
	logs     *testkit.Buffer // every log line, to prove none carries personal data
	log      *slog.Logger
	scanners map[string]*scanner.Simulator
	results  *bus.Subscription
	flow     *Flow
	ctx      context.Context
	cancel   context.CancelFunc
	flowStop context.CancelFunc
	wg       sync.WaitGroup
}

var stations = []string{"tiep-don-1", "tiep-don-2"}

func newRig(t testing.TB) *rig {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	r := &rig{t: t, dir: t.TempDir(), clock: testkit.NewClock(time.Date(2026, 12, 2, 8, 0, 0, 0, ict)), bus: bus.New(nil),
		hl: health.New(nil), logs: &testkit.Buffer{}, scanners: map[string]*scanner.Simulator{}}
	r.log = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.sim = bhyt.NewSimulator()
	r.sim.Now = r.clock.Now
	var err error
	if r.simAddr, err = r.sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	accountsPath := filepath.Join(r.dir, "secret", "bhyt-accounts.yaml")
	text := fmt.Sprintf(`profile: clinic
site: {province_code: "79", commune_code: "26734", id: tram-y-te, name: Trạm Y tế phường Thử Nghiệm, device_id: tiep-don}
clinic:
  enabled: true
  gateway: http://%s
  accounts_file: %s
  timeout: 2s
  retry_min: 20ms
  retry_max: 200ms
  stations:
    - {id: tiep-don-1, title: "Bàn tiếp đón số 1", operator: dd-lan}
    - {id: tiep-don-2, title: "Bàn tiếp đón số 2", operator: dd-hoa}
`, r.simAddr, accountsPath)
	cfg, err := config.Parse([]byte(text), filepath.Join(r.dir, "clinic.yaml"), config.Overrides{DataDir: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	if err := mkdirWrite(accountsPath); err != nil {
		t.Fatal(err)
	}
	if r.accounts, err = bhyt.LoadAccounts(cfg.Clinic.AccountsFile); err != nil {
		t.Fatal(err)
	}
	r.st, err = store.Open(context.Background(), store.Options{Path: filepath.Join(r.dir, "agent.db"), Location: ict,
		Now: r.clock.Now, Logger: r.log})
	if err != nil {
		t.Fatal(err)
	}
	r.results = r.bus.Subscribe(1024, Topic)
	r.startScanners()
	r.startFlow()
	t.Cleanup(r.close)
	return r
}

func mkdirWrite(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return bhyt.WriteSimAccounts(path)
}

// startScanners runs, per station, a scanner on a pty pair into the check-in flow.
func (r *rig) startScanners() {
	var cfgs []config.Scanner
	for _, s := range stations {
		p := ptypair.New(r.dir, s+"-scan")
		if err := p.Start(); err != nil {
			r.t.Fatal(err)
		}
		r.t.Cleanup(p.Stop)
		w, err := scanner.OpenSimulator(p)
		if err != nil {
			r.t.Fatal(err)
		}
		r.scanners[s] = w
		cfgs = append(cfgs, config.Scanner{Name: "quet-" + s, Counter: s, Purpose: config.ScanForCheckin, Port: p.Device,
			Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600})
	}
	cl, err := qrpayload.NewClassifier("")
	if err != nil {
		r.t.Fatal(err)
	}
	ids := storeHasher()
	flow := checkin.New(r.st, ids, r.bus, cl, r.cfg.Site.ID, r.log, metrics.New())
	scans := make(chan scanner.Scan, 64)
	r.wg.Add(2)
	go func() { defer r.wg.Done(); flow.Run(r.ctx, scans) }()
	go func() {
		defer r.wg.Done()
		scanner.RunAll(r.ctx, cfgs, scans, func(name string, s scanner.State, detail string) {
			st := health.Absent
			if s == scanner.StateOK {
				st = health.OK
			}
			r.hl.Set(health.Device{Name: name, Kind: "scanner", State: st})
		})
	}()
	for _, c := range cfgs {
		testkit.Eventually(r.t, 15*time.Second, func() bool {
			d, ok := r.hl.Get(c.Name)
			return ok && d.State == health.OK
		}, "scanner %s to open", c.Name)
	}
}

// storeHasher is the rig's keyed hash of ID numbers.
func storeHasher() *store.IDHasher { return store.NewIDHasher([]byte("test-secret-0123456789")) }

// startFlow starts (or restarts) the clinic flow on the rig's record.
func (r *rig) startFlow() {
	ctx, cancel := context.WithCancel(r.ctx)
	f, err := Start(ctx, Deps{Config: r.cfg, Store: r.st, Bus: r.bus, Accounts: r.accounts, Health: r.hl,
		Metrics: metrics.New(), Log: r.log, Now: r.clock.Now,
		AfterFunc: func(d time.Duration, fn func()) Timer { return r.clock.AfterFunc(d, fn) }})
	if err != nil {
		r.t.Fatal(err)
	}
	r.flow, r.flowStop = f, cancel
}

// advance moves the rig's clock by d once the retrier waits on its timer, so the move
// wakes it (a move made while it is busy would pass its next timer by).
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	if !r.clock.WaitTimers(1, 10*time.Second) {
		r.t.Fatal("the clinic's retrier never set its timer")
	}
	r.clock.Add(d)
}

// waitQueue waits until n look-ups are in the retrier's queue (a look-up is shown as
// waiting just before it joins the queue).
func (r *rig) waitQueue(n int) {
	r.t.Helper()
	got := 0
	testkit.Eventually(r.t, 10*time.Second, func() bool {
		r.flow.mu.Lock()
		got = len(r.flow.queue)
		r.flow.mu.Unlock()
		return got == n
	}, "%d look-ups in the retry queue (%d there)", n, func() string { return fmt.Sprint(got) })
}

// stopFlow stops the clinic flow as a shutdown of the agent does.
func (r *rig) stopFlow() {
	r.flowStop()
	r.flow.Wait()
}

func (r *rig) close() {
	r.stopFlow()
	r.cancel()
	r.wg.Wait()
	for _, w := range r.scanners {
		w.Close()
	}
	r.results.Close()
	r.sim.Close()
	r.st.Close()
}

// qr is the ID card QR of a fictional insured person.
func qr(c bhyt.SimCard) string { return cardQR(c) }

func (r *rig) card(code string) bhyt.SimCard {
	for _, c := range r.sim.Cards() {
		if c.Code == code {
			return c
		}
	}
	r.t.Fatalf("no simulated card answers %s", code)
	return bhyt.SimCard{}
}

func (r *rig) scan(station, payload string) {
	r.t.Helper()
	if err := r.scanners[station].Scan(payload, []byte("\r")); err != nil {
		r.t.Fatal(err)
	}
}

// result is one published look-up: the public part and the patient.
type result struct {
	pub  map[string]any
	pers map[string]any
}

func (x result) s(k string) string    { v, _ := x.pub[k].(string); return v }
func (x result) card() map[string]any { c, _ := x.pers["card"].(map[string]any); return c }

// next waits for the next published look-up in the given state.
func (r *rig) next(state string) result {
	r.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-r.results.C:
			x := result{testkit.Fields(m.Public), testkit.Fields(m.Personal)}
			if x.s("state") == state {
				return x
			}
		case <-timeout:
			r.t.Fatalf("no look-up in state %s published within 20s; log:\n%s", state, r.logs.String())
		}
	}
}

// counter sums the counters of metric whose dims contain match, over every day.
func (r *rig) counter(metric string, match map[string]string) int64 {
	r.t.Helper()
	rows, err := r.st.Counters(context.Background(), "")
	if err != nil {
		r.t.Fatal(err)
	}
	return store.Sum(rows, metric, match)
}

// checkRecord proves the counters equal the fold of the events, and that neither the
// record nor the log holds any of the people's names, ID numbers, birth dates or card
// numbers.
func (r *rig) checkRecord(people []bhyt.SimCard) {
	r.t.Helper()
	ctx := context.Background()
	fold, err := r.st.Fold(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	rows, err := r.st.Counters(ctx, "")
	if err != nil {
		r.t.Fatal(err)
	}
	if len(fold) != len(rows) {
		r.t.Fatalf("fold %d rows, counters %d", len(fold), len(rows))
	}
	for i := range rows {
		if rows[i].Metric != fold[i].Metric || rows[i].Value != fold[i].Value || store.EncodeDims(rows[i].Dims) != store.EncodeDims(fold[i].Dims) {
			r.t.Fatalf("counter %+v != fold %+v", rows[i], fold[i])
		}
	}
	evs, err := r.st.Events(ctx, store.EventFilter{Limit: 100000})
	if err != nil {
		r.t.Fatal(err)
	}
	var record strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&record, "%+v\n", e)
	}
	logs := r.logs.String()
	for _, p := range people {
		for _, secret := range []string{p.ID, p.Name, p.Number, p.Birth, strings.ReplaceAll(p.Birth, "/", ""), p.NewNumber} {
			if secret == "" {
				continue
			}
			if strings.Contains(record.String(), secret) {
				r.t.Errorf("the record holds personal data of a patient (%d chars)", len(secret))
			}
			if strings.Contains(logs, secret) {
				r.t.Errorf("a log line holds personal data of a patient (%d chars)", len(secret))
			}
		}
	}
	for _, a := range bhyt.SimAccounts() {
		for _, secret := range []string{a.Password, bhyt.PasswordMD5(a.Password), a.OperatorID, a.OperatorName, a.Username} {
			if strings.Contains(logs, secret) || strings.Contains(record.String(), secret) {
				r.t.Errorf("the log or record holds an operator's credentials or identity")
			}
		}
	}
}
