package dossier

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/internal/testkit"
)

// watchFolder runs the scan-folder pipeline as the agent wires it until the store
// holds n events.
func watchFolder(t *testing.T, dbPath, dir string, n int, logs *testkit.Buffer) Status {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := New(st, config.Dossier{}, "site", log)
	cl, _ := qrpayload.NewClassifier(config.DefaultReceiptPattern)
	pages := &Pages{Flow: f, Classifier: cl, FollowFor: time.Minute}
	// The watcher's clock is the test's: each step is a settle period, taken only when
	// the previous one's files are handled; no sleeping for a wrong re-count to show.
	clock := testkit.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	ticks := make(chan time.Time)
	const settle = 150 * time.Millisecond
	w := &qrimage.Watcher{Dir: dir, Settle: settle, Marks: StoreMarks{st}, Handle: pages.Handle,
		OnError: FolderErrors(dir, log), Now: clock.Now, Tick: ticks}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	step := func() {
		clock.Add(settle)
		ticks <- clock.Now()
		ticks <- clock.Now()
	}
	var got int
	testkit.Eventually(t, 20*time.Second, func() bool {
		evs, _ := st.Events(context.Background(), store.EventFilter{})
		if got = len(evs); got >= n {
			return true
		}
		step() // a settle period; the file events arrive meanwhile
		return false
	}, "%d events (%s so far)", n, func() string { return fmt.Sprint(got) })
	for range 20 { // many more settle periods: a wrong re-count would happen here
		step()
	}
	cancel()
	<-done
	s, err := f.Today(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fictional citizens whose names and ID numbers name the scanned files.
var citizens = []struct{ name, id string }{
	{"Nguyen Van An", "001099012345"}, {"Tran Thi Binh", "040199000123"}, {"Le Van Cuong", "038087004567"},
	{"Pham Thi Dung", "027190001234"}, {"Hoang Van Em", "044095006789"}, {"Vu Thi Giang", "036188009876"},
}

// TestOfficialReceiptsCountedOnceAcrossRestart drops a burst of scanned receipt pages
// in the official code shape (clean, rotated, blurred, JPEG, on an A4 page), saved
// under citizens' names and ID numbers, into the scan folder: each dossier counts as
// digitised once, again after a restart with copies of the same receipts added, and
// no name or ID number reaches a log line, an event or the record's file.
func TestOfficialReceiptsCountedOnceAcrossRestart(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"qrencode", "convert"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "scans")
	os.MkdirAll(dir, 0o750)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	variants := []struct {
		ext  string
		make func(qr, out string)
	}{
		{".png", func(qr, out string) { run("cp", qr, out) }},
		{".png", func(qr, out string) { run("convert", qr, "-background", "white", "-rotate", "17", out) }},
		{".png", func(qr, out string) { run("convert", qr, "-blur", "0x1.2", out) }},
		{".jpg", func(qr, out string) { run("convert", qr, "-quality", "70", out) }},
		{".png", func(qr, out string) { // A4 at 150 dpi, the receipt's code in the top right corner
			run("convert", "-size", "1240x1754", "xc:white", qr, "-geometry", "+900+120", "-composite", out)
		}},
		{".jpg", func(qr, out string) {
			run("convert", qr, "-background", "white", "-rotate", "90", "-quality", "85", out)
		}},
	}
	codes := make([]string, len(variants))
	for i, v := range variants {
		codes[i] = fmt.Sprintf("000.00.31.H40-231201-%04d", i+1)
		qr := filepath.Join(tmp, fmt.Sprintf("qr%d.png", i))
		run("qrencode", "-s", "6", "-m", "4", "-o", qr, codes[i]+"|13")
		c := citizens[i]
		v.make(qr, filepath.Join(dir, c.name+" "+c.id+v.ext))
	}
	db := filepath.Join(tmp, "agent.db")
	logs := &testkit.Buffer{}
	s := watchFolder(t, db, dir, len(variants), logs)
	if s.Digitized != int64(len(variants)) || s.Received != 0 {
		t.Fatalf("first run: %d digitised (want %d), %d received", s.Digitized, len(variants), s.Received)
	}
	// Restart; meanwhile two receipts were scanned again under other names, and a page
	// whose only code is an ID number's (a copy of the ID card among the dossier's
	// components: a page of the dossier before it, never a dossier code).
	run("cp", filepath.Join(dir, citizens[0].name+" "+citizens[0].id+".png"), filepath.Join(dir, "z-"+citizens[0].id+" again.png"))
	run("convert", filepath.Join(dir, citizens[2].name+" "+citizens[2].id+".png"), "-rotate", "180", filepath.Join(dir, "z-"+citizens[2].name+" again.png"))
	run("qrencode", "-s", "6", "-o", filepath.Join(dir, "z-"+citizens[5].name+" "+citizens[5].id+" cccd.png"), citizens[5].id)
	s = watchFolder(t, db, dir, len(variants)+3, logs)
	if s.Digitized != int64(len(variants)) {
		t.Fatalf("after restart: %d digitised, want %d: a dossier counted twice or lost", s.Digitized, len(variants))
	}
	if s.Services[0].Pages != int64(len(variants)+3) {
		t.Errorf("pages %d, want %d", s.Services[0].Pages, len(variants)+3)
	}
	st, err := store.Open(context.Background(), store.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := st.Events(context.Background(), store.EventFilter{})
	units := 0
	for _, e := range evs {
		var a DossierAttrs
		if e.Attrs.Decode(&a) == nil && a.Unit == "000.00.31.H40" && a.ReceivedOn == "2023-12-01" {
			units++
		}
	}
	st.Close()
	if units != len(variants)+3 {
		t.Errorf("%d events attributed to unit and day, want %d", units, len(variants)+3)
	}
	// No name or ID number in the log, the events or the record's files.
	var record bytes.Buffer
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(db + suffix)
		record.Write(b)
	}
	for _, c := range citizens {
		for _, secret := range []string{c.name, c.id} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log holds %q:\n%s", secret, logs.String())
			}
			if bytes.Contains(record.Bytes(), []byte(secret)) {
				t.Errorf("the record's file holds %q", secret)
			}
		}
	}
	t.Logf("%d receipt pages in 6 forms, %d digitised; log %d bytes", len(variants)+3, s.Digitized, len(logs.String()))
}
