package dossier

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/qrimage"
	"motcua-agent/drivers/qrpayload"
	"motcua-agent/drivers/scanner"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

// TestNoPersonalDataThroughSideDoors feeds fictional citizens' names and ID numbers
// through every input this package meets (counter scans of the card's QR, a bare ID
// number scanned as a receipt, dossier codes and API bodies that are ID numbers,
// scanned files named after the citizen, with and without a receipt code) and greps
// every output for them: every log line, every stored event and the record's file,
// the pages and the dashboard JSON, /metrics, and every server-sent event a kiosk
// or display board receives (which also must hold no pseudonym).
func TestNoPersonalDataThroughSideDoors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dbPath := filepath.Join(tmp, "agent.db")
	st, err := store.Open(context.Background(), store.Options{Path: dbPath, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens := map[web.Role]string{web.RoleKiosk: "kiosk-token-0123456789", web.RoleDisplay: "display-token-0123456789",
		web.RoleCounter: counterToken, web.RoleAdmin: "admin-token-0123456789"}
	cfg := &config.Config{HTTP: config.HTTP{Listen: "127.0.0.1:0", PersonalDataRoles: []string{"counter", "admin"}}}
	b := bus.New(nil)
	srv := web.New(web.Options{Config: cfg, Tokens: tokens, Store: st, Bus: b, Health: health.New(nil), Metrics: metrics.New(), Log: log})
	f := New(st, config.Dossier{}, "site", log)
	f.Routes(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	base := "http://" + srv.Addr()

	// The public screens' streams, every topic.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams := map[web.Role]*testkit.Buffer{}
	for _, role := range []web.Role{web.RoleKiosk, web.RoleDisplay} {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream?token="+tokens[role], nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream as %s: %v", role, err)
		}
		buf := &testkit.Buffer{}
		streams[role] = buf
		r := bufio.NewReader(resp.Body)
		r.ReadString('\n')
		go io.Copy(buf, r)
	}

	type person struct{ name, id, qr string }
	people := []person{
		{"Nguyễn Văn Bình", "001099012345", "001099012345|123456789|Nguyễn Văn Bình|15031990|Nam|Số 1 Phố Huế, Hai Bà Trưng, Hà Nội|20042021"},
		{"Trần Thị Ánh", "040199000123", "040199000123||Trần Thị Ánh|01021999|Nữ|Xóm 3, Hưng Dũng, Nghệ An|05082024|Trần Văn Cả|Lê Thị Dần"},
	}
	inputs, scanned := 0, 0
	// Counter scans: the card's QR, a bare ID number, the ID number after a receipt's
	// service bar, at a check-in and at a dossier scanner.
	cl, _ := qrpayload.NewClassifier(config.DefaultReceiptPattern)
	scans := checkin.New(st, store.NewIDHasher([]byte("site-key")), b, cl, "site", log, nil)
	scans.Receipt = f.ReceiptCounts
	for _, p := range people {
		for _, text := range []string{p.qr, p.id, "000.00.31.H40-231201-0001|" + p.id} {
			for _, purpose := range []string{config.ScanForCheckin, config.ScanForDossier} {
				if _, err := scans.Handle(ctx, scanner.Scan{Scanner: "s1", Tag: "Q1", Purpose: purpose, Text: text, Bytes: len(text)}); err != nil {
					t.Fatal(err)
				}
				inputs++
				scanned++
			}
		}
	}
	// The API: an ID number as the dossier code, as the service; a name as the service.
	for _, p := range people {
		for _, c := range []struct{ path, body string }{
			{"/api/v1/dossiers/" + p.id + "/received", `{"service":"13"}`},
			{"/api/v1/dossiers/" + p.id + "/digitized", `{"service":"13","pages":2}`},
			{"/api/v1/dossiers/HS-" + p.id + "-1/received", `{"service":"13"}`},
			{"/api/v1/dossiers/000.00.31.H40-231201-0002/received", `{"service":"` + p.id + `"}`},
		} {
			code, out := post(t, base+c.path, c.body)
			if code != 400 {
				t.Errorf("%s %s: %d %v, want 400", c.path, c.body, code, out)
			}
			if strings.Contains(out["error"].(string)+out["message"].(string), p.id) {
				t.Errorf("the refusal repeats the ID number: %v", out)
			}
			inputs++
		}
	}
	// Scanned files named after the citizen: one with a receipt, one without a code.
	dir := filepath.Join(tmp, "scans")
	os.MkdirAll(dir, 0o750)
	if _, err := exec.LookPath("qrencode"); err == nil {
		exec.Command("qrencode", "-s", "5", "-o", filepath.Join(dir, people[0].name+" "+people[0].id+".png"), "000.00.31.H40-231201-0003|13").Run()
		inputs++
	}
	os.WriteFile(filepath.Join(dir, people[1].name+" "+people[1].id+" CCCD.png"), []byte("not an image"), 0o600)
	inputs++
	pages := &Pages{Flow: f, Classifier: cl} // FollowFor 0: a page without a code stays unmatched
	w := &qrimage.Watcher{Dir: dir, Settle: 100 * time.Millisecond, Marks: StoreMarks{st}, Handle: pages.Handle, OnError: FolderErrors(dir, log)}
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { w.Run(wctx); close(wdone) }()
	n := 0
	testkit.Eventually(t, 30*time.Second, func() bool {
		evs, _ := st.Events(ctx, store.EventFilter{Limit: 1000})
		n = 0
		for _, e := range evs {
			if strings.HasPrefix(e.Kind, "dossier.") {
				n++
			}
		}
		return n >= inputs-len(people)*3*2-len(people)*4
	}, "the scan folder's dossier events (%s so far)", func() string { return fmt.Sprint(n) })
	wcancel()
	<-wdone
	// Every scan's message has reached both screens' streams.
	for role, buf := range streams {
		testkit.Eventually(t, 10*time.Second, func() bool { return strings.Count(buf.String(), "event: scan") >= scanned },
			"the %s stream to carry the %d scans:\n%s", role, scanned, buf.String)
	}

	// Every output.
	outputs := map[string]string{"log": logs.String()}
	for role, buf := range streams {
		outputs["stream:"+string(role)] = buf.String()
		if strings.Contains(buf.String(), "id_hash") || strings.Contains(buf.String(), `"personal"`) {
			t.Errorf("%s stream got something linkable:\n%s", role, buf.String())
		}
	}
	get := func(path string, role web.Role) string {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	outputs["events"] = get("/api/v1/events", web.RoleAdmin)
	outputs["dashboard"] = get("/api/v1/dashboard", web.RoleAdmin)
	outputs["page"] = get("/", web.RoleAdmin)
	outputs["metrics"] = get("/metrics", web.RoleNone)
	outputs["counters"] = get("/api/v1/counters", web.RoleCounter)
	var record bytes.Buffer
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(dbPath + suffix)
		record.Write(b)
	}
	outputs["record file"] = record.String()
	for what, text := range outputs {
		for _, p := range people {
			for _, secret := range []string{p.name, p.id} {
				if strings.Contains(text, secret) {
					i := strings.Index(text, secret)
					t.Errorf("%s holds %q: …%s…", what, secret, text[max(0, i-120):min(len(text), i+60)])
				}
			}
		}
	}
	if !strings.Contains(outputs["events"], "000.00.31.H40-231201-0003") {
		t.Errorf("the receipt page was not recorded: %s", outputs["events"])
	}
	t.Logf("%d inputs carrying names or ID numbers; %d outputs grepped (log %d bytes, events %d bytes, record %d bytes, kiosk stream %d bytes)",
		inputs, len(outputs), len(outputs["log"]), len(outputs["events"]), record.Len(), len(outputs["stream:kiosk"]))
}

func TestFolderErrorsNameNoFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := "Nguyen Van An 001099012345.png"
	os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
	var buf bytes.Buffer
	report := FolderErrors(dir, slog.New(slog.NewTextHandler(&buf, nil)))
	report(errors.New("scan folder: " + name + ": marks: database is locked"))
	report(errors.New("scan folder: open " + filepath.Join(dir, "Tran Thi Binh 040199000123.jpg") + ": no such file or directory"))
	out := buf.String()
	for _, secret := range []string{"Nguyen", "001099012345", "Tran Thi", "040199000123"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q: %s", secret, out)
		}
	}
	info, _ := os.Stat(filepath.Join(dir, name))
	if ref := PageRef(name, info.Size(), info.ModTime()); !strings.Contains(out, ref) || !strings.Contains(out, "(a jpg file)") {
		t.Errorf("the files are not named by their reference: %s", out)
	}
}
