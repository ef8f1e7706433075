package checkin

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/testkit"
)

const card = "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Hà Nội|20042021"

func newFlow(t *testing.T) (*Flow, *store.Store, *bus.Bus, *strings.Builder) {
	return newFlowB(t)
}

func newFlowB(t testing.TB) (*Flow, *store.Store, *bus.Bus, *strings.Builder) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "agent.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cl, _ := qrpayload.NewClassifier("")
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	b := bus.New(nil)
	return New(st, store.NewIDHasher([]byte("k")), b, cl, "site", log, nil), st, b, logs
}

func counter(t *testing.T, st *store.Store, metric string, dims map[string]string) int64 {
	t.Helper()
	rows, err := st.Counters(context.Background(), st.Day(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Metric == metric && store.EncodeDims(r.Dims) == store.EncodeDims(dims) {
			return r.Value
		}
	}
	return 0
}

// TestScannerToEvent drives a scanner on a real pty into the flow: card QR, VNeID,
// wrong code page, unknown; checks events, counters, the bus and the logs.
func TestScannerToEvent(t *testing.T) {
	t.Parallel()
	f, st, b, logs := newFlow(t)
	sub := b.Subscribe(16, Topic)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, scans := ptyScanner(t, ctx)
	flowDone := make(chan struct{})
	go func() { f.Run(ctx, scans); close(flowDone) }()

	sim.Scan(card, []byte("\r"))
	m := next(t, sub)
	if testkit.Fields(m.Public)["kind"] != "cccd-2021" || testkit.Fields(m.Public)["outcome"] != "ok" || testkit.Fields(m.Public)["counter"] != "quay-1" {
		t.Fatalf("public: %v", m.Public)
	}
	if testkit.Fields(m.Personal)["id"] != "001099012345" || testkit.Fields(m.Personal)["name"] != "Nguyễn Văn Bình" {
		t.Fatalf("personal: %v", m.Personal)
	}
	for _, v := range testkit.Fields(m.Public) {
		if s, ok := v.(string); ok && (strings.Contains(s, "001099012345") || strings.Contains(s, "Nguyễn")) {
			t.Fatal("personal data in the public part")
		}
	}
	sim.Scan("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", []byte("\r"))
	if m := next(t, sub); testkit.Fields(m.Public)["kind"] != "vneid" {
		t.Fatalf("vneid: %v", m.Public)
	}
	sim.Write([]byte("Nguy\xd2n\r"))
	if m := next(t, sub); testkit.Fields(m.Public)["outcome"] != OutcomeUnreadable || testkit.Fields(m.Public)["reason"] != "wrong-code-page" {
		t.Fatalf("code page: %v", m.Public)
	}
	sim.Scan(card, []byte("\r")) // same person again
	next(t, sub)

	if n := counter(t, st, MetricCheckins, map[string]string{"kind": "cccd-2021", "outcome": "ok"}); n != 2 {
		t.Errorf("card check-ins %d, want 2", n)
	}
	if n := counter(t, st, MetricPeople, map[string]string{"kind": "cccd-2021"}); n != 1 {
		t.Errorf("unique people %d, want 1", n)
	}
	if n := counter(t, st, MetricCheckins, map[string]string{"kind": "vneid", "outcome": "ok"}); n != 1 {
		t.Errorf("vneid check-ins %d", n)
	}
	if n := counter(t, st, MetricCheckins, map[string]string{"kind": "unreadable", "outcome": "unreadable"}); n != 1 {
		t.Errorf("unreadable %d", n)
	}
	evs, _ := st.Events(context.Background(), store.EventFilter{})
	if len(evs) != 4 {
		t.Fatalf("%d events", len(evs))
	}
	cancel()
	<-flowDone // the flow logs after publishing: wait for it before reading the log
	raw, _ := io.ReadAll(strings.NewReader(logs.String()))
	for _, e := range evs {
		if s := e.Attrs.String(); !strings.Contains(s, `"outcome"`) || strings.Contains(s, "001099012345") || strings.Contains(s, "Nguyễn") {
			t.Fatalf("event %s: attributes %s: want the scan's, with no personal data", e.Kind, s)
		}
	}
	if strings.Contains(string(raw), "001099012345") || strings.Contains(string(raw), "Bình") {
		t.Fatal("personal data in the logs")
	}
}

// ptyScanner starts a scanner reader on a socat pty pair (counter "quay-1", suffix CR)
// and returns the simulator writing into it and the reader's scans.
func ptyScanner(tb testing.TB, ctx context.Context) (*scanner.Simulator, chan scanner.Scan) {
	tb.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		tb.Skip("socat not installed: needed for the pty scanner")
	}
	pair := ptypair.New(tb.TempDir(), "qr")
	if err := pair.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pair.Stop)
	sim, err := scanner.OpenSimulator(pair)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	scans := make(chan scanner.Scan, 64)
	c := config.Scanner{Name: "qr-1", Counter: "quay-1", Port: pair.Device, Purpose: config.ScanForCheckin,
		Suffix: "cr", IdleGap: time.Second, MaxScan: 4096, Baud: 9600}
	opened := make(chan struct{})
	var once sync.Once
	go (&scanner.Reader{Config: c, OnState: func(s scanner.State, _ string) {
		if s == scanner.StateOK {
			once.Do(func() { close(opened) })
		}
	}}).Run(ctx, scans)
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		tb.Fatal("scanner port not opened within 10 s")
	}
	return sim, scans
}

func next(t *testing.T, s *bus.Subscription) bus.Message {
	t.Helper()
	select {
	case m := <-s.C:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
	}
	return bus.Message{}
}

func TestGateAndDossierScansAreNotCheckins(t *testing.T) {
	t.Parallel()
	f, st, _, _ := newFlow(t)
	ctx := context.Background()
	f.Handle(ctx, scanner.Scan{Scanner: "g", Tag: "lane-1", Purpose: config.ScanForGate, Text: card})
	r, err := f.Handle(ctx, scanner.Scan{Scanner: "c", Tag: "q1", Purpose: config.ScanForCheckin, Text: "H40.22-230701-0001|13"})
	if err != nil || r.Kind != qrpayload.KindDossier || r.Event.Service != "13" {
		t.Fatalf("%+v %v", r, err)
	}
	rows, _ := st.Counters(ctx, st.Day(time.Now()))
	for _, row := range rows {
		if row.Metric == MetricCheckins {
			t.Fatalf("counted a check-in: %+v", row)
		}
	}
}
