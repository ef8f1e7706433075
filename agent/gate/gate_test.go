package gate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/health"
	"motcua-agent/config"
	"motcua-agent/drivers/scanner"
)

var morning = time.Date(2026, 7, 4, 9, 0, 0, 0, ict)

func TestEntryAndExitOpenTheRelays(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("ra", config.LaneExit))
	r := newRig(t, cfg, map[string]string{"vao": config.RelayKMTronic, "ra": config.RelayLCUS}, morning)

	d := r.scan("vao", cardQR(1))
	expect(t, d, Allow, "")
	if d.Direction != DirEntry || d.Occupancy != 1 {
		t.Fatalf("entry decision %v", d)
	}
	r.waitRelay("vao", true)
	r.waitRelay("vao", false) // the pulse ends

	r.clock.Add(time.Minute)
	d = r.scan("ra", cardQR(1))
	expect(t, d, Allow, "")
	if d.Direction != DirExit || d.Occupancy != 0 {
		t.Fatalf("exit decision %v", d)
	}
	r.waitRelay("ra", true)

	if got := r.counter(MetricEntries, map[string]string{"lane": "vao", "hour": "09", "kind": "cccd"}); got != 1 {
		t.Fatalf("entries = %d", got)
	}
	if got := r.counter(MetricExits, map[string]string{"lane": "ra"}); got != 1 {
		t.Fatalf("exits = %d", got)
	}
	if got := r.counter(MetricUniqueVisitors, nil); got != 1 {
		t.Fatalf("unique visitors = %d", got)
	}
	if got := r.counter(MetricPeakOccupancy, map[string]string{"hour": "09"}); got != 1 {
		t.Fatalf("peak = %d", got)
	}
	// The record holds the keyed hash, never the ID number.
	evs, _ := r.st.Events(context.Background(), eventsAll)
	for _, e := range evs {
		if b, _ := json.Marshal(e); strings.Contains(string(b), "001099000001") || strings.Contains(string(b), "Khách") {
			t.Fatalf("event %s holds the ID number or name: %s", e.Kind, b)
		}
		if e.Kind != KindEntry && e.Kind != KindExit {
			continue
		}
		var a ExitAttrs // an entry's are a part of an exit's
		if err := e.Attrs.Decode(&a); err != nil || len(a.Visitor) != 64 {
			t.Fatalf("event %s visitor attr %q is not a keyed hash (%v)", e.Kind, a.Visitor, err)
		}
	}
}

func TestDuplicateWithinWindowIsIgnored(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry))
	r := newRig(t, cfg, map[string]string{"vao": config.RelayLCUS}, morning)
	expect(t, r.scan("vao", cardQR(2)), Allow, "")
	r.waitRelay("vao", true)
	r.clock.Add(time.Second) // inside the 3s window
	r.write("vao", cardQR(2))
	r.write("vao", cardQR(2))
	d := r.scan("vao", cardQR(3)) // the next decision is the next visitor's
	expect(t, d, Allow, "")
	if d.Occupancy != 2 {
		t.Fatalf("occupancy %v after a duplicate and a new visitor, want 2", d.Occupancy)
	}
	if got := r.counter(MetricEntries, nil); got != 2 {
		t.Fatalf("entries = %d, want 2", got)
	}
	if got := r.counter(MetricRefusals, nil); got != 0 {
		t.Fatalf("a duplicate read counted as a refusal (%d)", got)
	}
	if got := r.g.ignored.Value(); got != 2 {
		t.Fatalf("ignored duplicates = %d, want 2", got)
	}
}

func TestAntiPassback(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("chung", config.LaneBoth))
	r := newRig(t, cfg, map[string]string{"vao": config.RelayLCUS}, morning)
	expect(t, r.scan("vao", cardQR(4)), Allow, "")
	r.waitRelay("vao", true)
	r.clock.Add(10 * time.Second)
	d := r.scan("vao", cardQR(4))
	expect(t, d, Refuse, ReasonAlreadyInside)
	select {
	case c := <-r.lanes["vao"].board.Commands():
		if c.Closed {
			t.Fatal("the relay opened for a refused second entry")
		}
	case <-time.After(200 * time.Millisecond):
	}
	// A lane for both directions lets the visitor out, then in again.
	expect(t, r.scan("chung", cardQR(4)), Allow, "")
	r.clock.Add(10 * time.Second)
	d = r.scan("chung", cardQR(4))
	expect(t, d, Allow, "")
	if d.Direction != DirEntry {
		t.Fatalf("second scan on the both-ways lane: %v", d)
	}
	if got := r.counter(MetricRefusals, map[string]string{"reason": ReasonAlreadyInside}); got != 1 {
		t.Fatalf("already-inside refusals = %d", got)
	}
	if got := r.counter(MetricUniqueVisitors, nil); got != 1 {
		t.Fatalf("unique visitors = %d, want 1", got)
	}
}

func TestCapacityReachedAndReleased(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("ra", config.LaneExit))
	cfg.Gate.Capacity, cfg.Gate.Reserve = 4, 1 // scans stop at 3
	r := newRig(t, cfg, map[string]string{"vao": config.RelayLCUS}, morning)
	for i := 10; i < 13; i++ {
		expect(t, r.scan("vao", cardQR(i)), Allow, "")
	}
	expect(t, r.scan("vao", cardQR(13)), Refuse, ReasonFull)
	expect(t, r.scan("ra", cardQR(10)), Allow, "")
	r.clock.Add(5 * time.Second)
	d := r.scan("vao", cardQR(13))
	expect(t, d, Allow, "")
	if d.Occupancy != 3 {
		t.Fatalf("occupancy %v", d.Occupancy)
	}
	// Staff set the site full, then open again.
	if err := r.g.SetSite(r.ctx, SiteFull, "Trần Thị Hoa", "đoàn khách lớn sắp đến"); err != nil {
		t.Fatal(err)
	}
	expect(t, r.scan("ra", cardQR(11)), Allow, "") // exits always pass
	expect(t, r.scan("vao", cardQR(14)), Refuse, ReasonFull)
	if err := r.g.SetSite(r.ctx, SiteOpen, "Trần Thị Hoa", "đoàn đã vào"); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(5 * time.Second)
	expect(t, r.scan("vao", cardQR(14)), Allow, "")
	if got := r.counter(MetricRefusals, map[string]string{"reason": ReasonFull}); got != 2 {
		t.Fatalf("full refusals = %d", got)
	}
}

func TestAllowedKindsAndUnreadable(t *testing.T) {
	tickets := laneCfg("doan", config.LaneBoth)
	tickets.AllowedKinds = []string{config.KindETicket}
	cfg := baseConfig(t, tickets)
	r := newRig(t, cfg, nil, morning)
	expect(t, r.scan("doan", cardQR(20)), Refuse, ReasonNotAllowed)
	expect(t, r.scan("doan", "001099000020||Nguyễn Văn Khách|99999999|Nam|x|15062021"), Refuse, ReasonUnreadable)
	d := r.scan("doan", "VE-KL-2026-000777")
	expect(t, d, Allow, "")
	if d.Kind != config.KindETicket {
		t.Fatalf("kind %v", d.Kind)
	}
}

func TestRelayThatStopsAnsweringFaultsTheLane(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry))
	r := newRig(t, cfg, map[string]string{"vao": config.RelayKMTronic}, morning)
	expect(t, r.scan("vao", cardQR(30)), Allow, "")
	r.lanes["vao"].board.Silence(true)

	d := r.scan("vao", cardQR(31))
	expect(t, d, Staff, ReasonLaneFault)
	if d.Occupancy != 1 {
		t.Fatalf("occupancy %v after a failed opening, want 1", d.Occupancy)
	}
	r.waitHealth("gate-vao-relay", health.Fault)
	// While in fault the lane refuses at once instead of letting people through blind.
	r.clock.Add(5 * time.Second)
	expect(t, r.scan("vao", cardQR(32)), Staff, ReasonLaneFault)
	if got := r.counter(MetricEntries, nil); got != 1 {
		t.Fatalf("entries = %d: the voided entry must not count", got)
	}
	if got := r.counter(MetricRefusals, map[string]string{"reason": ReasonLaneFault}); got != 2 {
		t.Fatalf("lane-fault refusals = %d", got)
	}
	// The board answers again: the probe clears the fault.
	r.lanes["vao"].board.Silence(false)
	go r.g.Run(r.ctx, 50*time.Millisecond)
	r.waitHealth("gate-vao-relay", health.OK)
	r.clock.Add(5 * time.Second)
	expect(t, r.scan("vao", cardQR(31)), Allow, "")
	if got := r.g.Occupancy(); got != 2 {
		t.Fatalf("occupancy %d", got)
	}
	assertOccupancyMatchesRecord(t, r)
}

func TestScannerUnpluggedAndReplugged(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry))
	r := newRig(t, cfg, nil, morning)
	expect(t, r.scan("vao", cardQR(40)), Allow, "")
	lr := r.lanes["vao"]
	lr.scanner.Close()
	lr.scanner = nil
	lr.scanPair.Stop()
	r.waitHealth("scanner quet-vao", health.Absent)
	if err := lr.scanPair.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitHealth("scanner quet-vao", health.OK)
	var err error
	if lr.scanner, err = scanner.OpenSimulator(lr.scanPair); err != nil {
		t.Fatal(err)
	}
	d := r.scan("vao", cardQR(41))
	expect(t, d, Allow, "")
	if d.Occupancy != 2 {
		t.Fatalf("occupancy %v", d.Occupancy)
	}
}

func TestClosingTimeReconciliation(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("ra", config.LaneExit), laneCfg("phu", config.LaneEntry))
	cfg.Gate.ClosingTime = "17:30"
	r := newRig(t, cfg, nil, morning)
	for i := 50; i < 54; i++ {
		expect(t, r.scan("vao", cardQR(i)), Allow, "")
	}
	expect(t, r.scan("phu", cardQR(54)), Allow, "")
	expect(t, r.scan("ra", cardQR(50)), Allow, "")
	if n, err := r.g.CheckClosing(r.ctx); err != nil || n != 0 {
		t.Fatalf("before closing: %d, %v", n, err)
	}
	r.clock.Set(time.Date(2026, 7, 4, 17, 31, 0, 0, ict))
	n, err := r.g.CheckClosing(r.ctx)
	if err != nil || n != 4 {
		t.Fatalf("reconciled %d (%v), want 4", n, err)
	}
	if n, _ := r.g.CheckClosing(r.ctx); n != 0 {
		t.Fatalf("reconciled twice (%d)", n)
	}
	if r.g.Occupancy() != 0 {
		t.Fatalf("occupancy %d after closing", r.g.Occupancy())
	}
	if got := r.counter(MetricReconciled, map[string]string{"lane": "vao", "hour": "17"}); got != 3 {
		t.Fatalf("reconciled at vao = %d, want 3", got)
	}
	if got := r.counter(MetricReconciled, map[string]string{"lane": "phu"}); got != 1 {
		t.Fatalf("reconciled at phu = %d, want 1", got)
	}
	assertOccupancyMatchesRecord(t, r)

	// The next morning: everyone may enter again, and a restarted gate agrees.
	r.clock.Set(time.Date(2026, 7, 5, 8, 0, 0, 0, ict))
	expect(t, r.scan("vao", cardQR(51)), Allow, "")
	g2, err := New(r.ctx, Options{Config: r.cfg, Store: r.st, IDs: r.ids, Log: quietLog(), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Occupancy() != 1 {
		t.Fatalf("restarted gate folds occupancy %d, want 1", g2.Occupancy())
	}
	// A gate that was off at closing time reconciles when it starts.
	r.clock.Set(time.Date(2026, 7, 6, 7, 0, 0, 0, ict))
	g3, err := New(r.ctx, Options{Config: r.cfg, Store: r.st, IDs: r.ids, Log: quietLog(), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if g3.Occupancy() != 0 {
		t.Fatalf("a gate started after a missed closing holds %d visitors", g3.Occupancy())
	}
	if got := r.counter(MetricReconciled, map[string]string{"hour": "17"}); got != 5 {
		t.Fatalf("reconciled over two days = %d, want 5", got)
	}
}

func TestStaffOpenLaneIsRecorded(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry))
	r := newRig(t, cfg, map[string]string{"vao": config.RelayLCUS}, morning)
	if err := r.g.OpenLane(r.ctx, "vao", "Lê Văn Bảo", "khách đi xe lăn"); err != nil {
		t.Fatal(err)
	}
	r.waitRelay("vao", true)
	if err := r.g.OpenLane(r.ctx, "vao", "", "x"); err == nil {
		t.Fatal("an anonymous manual open was accepted")
	}
	evs, _ := r.st.Events(context.Background(), eventsAll)
	var found bool
	for _, e := range evs {
		var a ManualOpenAttrs
		if e.Kind == KindManualOpen && e.Attrs.Decode(&a) == nil && a == (ManualOpenAttrs{Lane: a.Lane, Who: "Lê Văn Bảo", Why: "khách đi xe lăn"}) {
			found = true
		}
	}
	if !found || r.counter(MetricManualOpens, map[string]string{"lane": "vao"}) != 1 || r.g.Occupancy() != 0 {
		t.Fatal("manual open not recorded as such")
	}
}

// Opening hours: after the closing time an entry is refused as closed and counted as
// a refusal, exits still pass, the status says closed; at the opening time the next
// morning entries pass again; staff who open by hand after closing are obeyed until
// the next closing; a restarted gate agrees.
func TestEntriesRefusedOutsideOpeningHours(t *testing.T) {
	cfg := baseConfig(t, laneCfg("vao", config.LaneEntry), laneCfg("ra", config.LaneExit))
	cfg.Gate.OpeningTime, cfg.Gate.ClosingTime = "07:00", "17:30"
	r := newRig(t, cfg, nil, morning)
	expect(t, r.scan("vao", cardQR(60)), Allow, "")
	expect(t, r.scan("vao", cardQR(61)), Allow, "")

	r.clock.Set(time.Date(2026, 7, 4, 18, 1, 0, 0, ict)) // before the reconciliation has run
	expect(t, r.scan("vao", cardQR(62)), Refuse, ReasonClosed)
	expect(t, r.scan("ra", cardQR(60)), Allow, "")
	if st, err := r.g.Status(r.ctx); err != nil || st.SiteState != SiteClosed || st.Today.Entries != 2 {
		t.Fatalf("status at 18:01: %+v %v", st, err)
	}
	if got := r.counter(MetricRefusals, map[string]string{"reason": ReasonClosed}); got != 1 {
		t.Fatalf("closed refusals %d, want 1", got)
	}
	r.g.CheckClosing(r.ctx)
	r.clock.Set(time.Date(2026, 7, 5, 6, 59, 0, 0, ict))
	expect(t, r.scan("vao", cardQR(63)), Refuse, ReasonClosed)
	r.clock.Set(time.Date(2026, 7, 5, 7, 0, 0, 0, ict))
	expect(t, r.scan("vao", cardQR(63)), Allow, "")
	if r.g.SiteState() != SiteOpen {
		t.Fatalf("at the opening time the site is %s", r.g.SiteState())
	}

	// An evening event: staff open the site by hand after closing.
	r.clock.Set(time.Date(2026, 7, 5, 19, 0, 0, 0, ict))
	expect(t, r.scan("vao", cardQR(64)), Refuse, ReasonClosed)
	if err := r.g.SetSite(r.ctx, SiteOpen, "Lê Văn Bảo", "đêm hội trăng rằm"); err != nil {
		t.Fatal(err)
	}
	r.clock.Set(time.Date(2026, 7, 5, 19, 5, 0, 0, ict))
	expect(t, r.scan("vao", cardQR(64)), Allow, "")
	g2, err := New(r.ctx, Options{Config: r.cfg, Store: r.st, IDs: r.ids, Log: quietLog(), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if g2.SiteState() != SiteOpen {
		t.Fatalf("a restarted gate forgot the hand opening: %s", g2.SiteState())
	}
	r.clock.Set(time.Date(2026, 7, 6, 17, 45, 0, 0, ict))
	if g2.SiteState() != SiteClosed {
		t.Fatalf("the hand opening outlived the next closing: %s", g2.SiteState())
	}
}
