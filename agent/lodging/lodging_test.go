package lodging

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/health"
	"motcua-agent/agent/identity"
	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/testkit"
)

var ict = time.FixedZone("ICT", 7*3600)

const counterToken = "counter-token-0123456789"

// rig is a ward desk with real parts: the record in a SQLite file, the bus the chip and
// QR flows publish on, the agent's web server on loopback, and the list.
type rig struct {
	t     *testing.T
	dir   string
	cfg   *config.Config
	clock *testkit.Clock
	st    *store.Store
	bus   *bus.Bus
	logs  *testkit.Buffer
	list  *List
	base  string
	stop  context.CancelFunc
}

func newRig(t *testing.T, start time.Time, mods ...func(*config.Config)) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), clock: testkit.NewClock(start), bus: bus.New(nil), logs: &testkit.Buffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	text := `profile: hospital
site: {province_code: "40", commune_code: "16681", id: benh-vien, name: Bệnh viện Thử Nghiệm, device_id: khoa-noi}
http: {listen: "127.0.0.1:0"}
lodging:
  enabled: true
  address: "Số 1 đường Thử Nghiệm, phường Mô Phỏng, tỉnh Ví Dụ"
  wards: [{id: khoa-noi, title: "Khoa Nội"}, {id: khoa-nhi, title: "Khoa Nhi"}]
  typing: {enabled: true}
`
	cfg, err := config.Parse([]byte(text), filepath.Join(r.dir, "hospital.yaml"), config.Overrides{DataDir: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(cfg)
	}
	r.cfg = cfg
	r.st, err = store.Open(context.Background(), store.Options{Path: filepath.Join(r.dir, "agent.db"), Location: ict, Now: r.clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.list, err = Start(ctx, Deps{Config: cfg, Store: r.st, Bus: r.bus, Log: log, Now: r.clock.Now,
		AfterFunc: func(d time.Duration, f func()) Timer { return r.clock.AfterFunc(d, f) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Config: cfg, Tokens: map[web.Role]string{web.RoleCounter: counterToken}, Store: r.st, Bus: r.bus,
		Health: health.New(nil), Metrics: metrics.New(), Log: log, Now: r.clock.Now})
	r.list.Register(srv)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r.base = "http://" + srv.Addr()
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), time.Second)
		defer c()
		srv.Shutdown(sctx)
		cancel()
		r.list.Wait()
		r.st.Close()
	})
	return r
}

func (r *rig) call(method, path string, body any) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+counterToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (r *rig) ward(id string) WardStatus {
	r.t.Helper()
	code, b := r.call("GET", "/api/v1/lodging/wards/"+id, nil)
	var s WardStatus
	if code != http.StatusOK || json.Unmarshal(b, &s) != nil {
		r.t.Fatalf("ward %s: %d %s", id, code, b)
	}
	return s
}

// waitEntries waits until the ward lists n people.
func (r *rig) waitEntries(ward string, n int) WardStatus {
	r.t.Helper()
	var s WardStatus
	testkit.Eventually(r.t, 10*time.Second, func() bool { s = r.ward(ward); return len(s.Entries) == n },
		"ward %s to list %d people (%s)", ward, n, func() string { return fmt.Sprintf("%d listed", len(s.Entries)) })
	return s
}

// waitErased waits until n erasures are recorded: each is recorded once its rows are
// overwritten and the log truncated.
func (r *rig) waitErased(n int) {
	r.t.Helper()
	var got int
	testkit.Eventually(r.t, 10*time.Second, func() bool {
		evs, err := r.st.Events(context.Background(), store.EventFilter{Kinds: []string{KindErased}})
		if err != nil {
			r.t.Fatal(err)
		}
		got = len(evs)
		return got >= n
	}, "%d erasures to be recorded (%s)", n, func() string { return fmt.Sprint(got) })
}

// recordBytes is every byte of the record's files: the database and its write-ahead log.
func (r *rig) recordBytes() []byte {
	r.t.Helper()
	var all []byte
	for _, name := range []string{"agent.db", "agent.db-wal", "agent.db-journal"} {
		b, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil && !os.IsNotExist(err) {
			r.t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// sealedOf is an entry's sealed bytes as the record holds them.
func (r *rig) sealedOf(id string) []byte {
	r.t.Helper()
	var b []byte
	if err := r.st.DB().QueryRow(`SELECT sealed FROM lodging_entries WHERE id = ?`, id).Scan(&b); err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *rig) counter(metric string, match map[string]string) int64 {
	rows, err := r.st.Counters(context.Background(), "")
	if err != nil {
		r.t.Fatal(err)
	}
	return store.Sum(rows, metric, match)
}

type person struct{ id, name, birth, sex string }

var (
	an   = person{"099190000101", "Nguyễn Thị Ánh Tuyết", "12/04/1979", "Nữ"}
	binh = person{"099085000102", "Trần Văn Bình", "03/09/1985", "Nam"}
	cuc  = person{"099160000103", "Lê Thị Cúc", "21/11/1960", "Nữ"}
)

// TestNightList: a chip read, a card QR and a typed entry put three people on tonight's
// list; a warning shows as 23:00 nears; one is notified and erased after the grace,
// the others at the deadline. Their data is sealed in the record while listed, and
// neither it nor its sealed form is left in the record's files (WAL included) after.
func TestNightList(t *testing.T) {
	t.Parallel()
	r := newRig(t, time.Date(2026, 12, 2, 20, 0, 0, 0, ict))
	r.bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "khoa-noi", Outcome: identity.OutcomeOK},
		Personal: identity.Person{ID: an.id, Name: an.name, Birth: an.birth, Sex: an.sex}})
	r.waitEntries("khoa-noi", 1)
	qr := binh.id + "||" + binh.name + "|" + strings.ReplaceAll(binh.birth, "/", "") + "|" + binh.sex + "|Thôn Thử, xã Mô Phỏng|15082025"
	r.bus.Publish(bus.Message{Topic: checkin.Topic, Public: checkin.Scan{Counter: "khoa-noi", Purpose: "checkin", Kind: "cccd-2021"},
		Personal: checkin.ScanPersonal{Payload: qr}})
	r.waitEntries("khoa-noi", 2)
	// The same chip again is not a second entry; a read at another counter is not listed.
	r.bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "khoa-noi", Outcome: identity.OutcomeOK},
		Personal: identity.Person{ID: an.id, Name: an.name, Birth: an.birth}})
	r.bus.Publish(bus.Message{Topic: identity.TopicIdentity, Public: identity.Status{Counter: "quay-1", Outcome: identity.OutcomeOK},
		Personal: identity.Person{ID: cuc.id, Name: cuc.name}})
	code, b := r.call("POST", "/api/v1/lodging/entries", map[string]string{"ward": "khoa-noi", "number": cuc.id, "name": cuc.name,
		"birth": cuc.birth, "sex": cuc.sex, "reason": "Điều trị nội trú", "to": "05/12/2026"})
	if code != http.StatusCreated {
		t.Fatalf("typed entry: %d %s", code, b)
	}
	// Bad input: a clear Vietnamese error, nothing listed.
	if code, b := r.call("POST", "/api/v1/lodging/entries", map[string]string{"ward": "khoa-noi", "number": "12", "name": ""}); code != http.StatusBadRequest ||
		!strings.Contains(string(b), "Nhập đủ số định danh") {
		t.Fatalf("bad entry: %d %s", code, b)
	}
	s := r.waitEntries("khoa-noi", 3)
	want := []struct {
		p      person
		source string
		reason string
		to     string
	}{{an, SourceChip, "Chăm sóc người bệnh", "03/12/2026"}, {binh, SourceQR, "Chăm sóc người bệnh", "03/12/2026"},
		{cuc, SourceTyped, "Điều trị nội trú", "05/12/2026"}}
	for i, w := range want {
		e := s.Entries[i]
		if e.Person == nil || e.Person.Number != w.p.id || e.Person.Name != w.p.name || e.Person.Birth != w.p.birth ||
			e.Person.Sex != w.p.sex || e.Source != w.source || e.Person.Reason != w.reason || e.Person.From != "02/12/2026" ||
			e.Person.To != w.to || !e.Deadline.Equal(time.Date(2026, 12, 2, 23, 0, 0, 0, ict)) {
			t.Fatalf("entry %d: %+v %+v", i, e, e.Person)
		}
	}
	if s.Warning != nil || r.ward("khoa-nhi").Entries == nil || len(r.ward("khoa-nhi").Entries) != 0 {
		t.Fatalf("warning at 20:00 or people at another ward: %+v", s.Warning)
	}
	// Sealed in the record: no name or number in its files, but the sealed bytes are
	// there (so the erasure check below can see them go).
	sealed := map[string][]byte{}
	for _, e := range s.Entries {
		sealed[e.ID] = r.sealedOf(e.ID)
	}
	rec := r.recordBytes()
	for _, p := range []person{an, binh, cuc} {
		if bytes.Contains(rec, []byte(p.id)) || bytes.Contains(rec, []byte(p.name)) {
			t.Fatalf("the record holds a listed person's data in clear")
		}
	}
	for id, sb := range sealed {
		if !bytes.Contains(rec, sb) {
			t.Fatalf("entry %s: its sealed data is not found in the record's files; the erasure check would prove nothing", id)
		}
	}
	// The export, in the form's field order.
	code, b = r.call("GET", "/api/v1/lodging/wards/khoa-noi/export.csv", nil)
	lines := strings.Split(strings.TrimSpace(string(b)), "\r\n")
	if code != http.StatusOK || !strings.HasPrefix(lines[0], "\ufeffSTT,Số định danh cá nhân / Hộ chiếu,Họ và tên,Ngày sinh,Giới tính,Quốc tịch,Lý do lưu trú") ||
		len(lines) != 4 || lines[3] != "3,"+cuc.id+","+cuc.name+","+cuc.birth+",Nữ,Việt Nam,Điều trị nội trú,02/12/2026,05/12/2026,"+
		`"Số 1 đường Thử Nghiệm, phường Mô Phỏng, tỉnh Ví Dụ",23:00 02/12/2026,` {
		t.Fatalf("export: %d\n%s", code, b)
	}
	// The same as a workbook: every cell text, in the same order.
	code, b = r.call("GET", "/api/v1/lodging/wards/khoa-noi/export.xlsx", nil)
	if code != http.StatusOK {
		t.Fatalf("xlsx: %d", code)
	}
	if rows := readXLSX(t, b); len(rows) != 4 || strings.Join(rows[3], ",") != strings.TrimPrefix(strings.ReplaceAll(lines[3], `"`, ""), "") ||
		rows[0][1] != "Số định danh cá nhân / Hộ chiếu" || rows[1][1] != an.id {
		t.Fatalf("xlsx rows %q", rows)
	}
	// As 23:00 nears: the warning on the ward's page and the dashboard.
	r.clock.Set(time.Date(2026, 12, 2, 22, 10, 0, 0, ict))
	s = r.ward("khoa-noi")
	if s.Warning == nil || s.Warning.Pending != 3 || s.Warning.Message != "Còn 3 người chưa thông báo lưu trú, hạn 23:00 hôm nay (còn 50 phút)." {
		t.Fatalf("warning at 22:10: %+v", s.Warning)
	}
	// The dashboard, as its page reads it.
	code, block := r.call("GET", "/api/v1/dashboard", nil)
	if code != http.StatusOK || !strings.Contains(string(block), `{"label":"Khoa Nội","value":"Còn 3 người chưa thông báo lưu trú, hạn 23:00 hôm nay (còn 50 phút)."}`) ||
		!strings.Contains(string(block), `"state":"warn"`) ||
		strings.Contains(string(block), an.name) {
		t.Fatalf("dashboard: %d %s", code, block)
	}
	// The nurse notifies the first person, in VNeID, and marks it; after the grace
	// their data is gone.
	first := s.Entries[0].ID
	if code, b := r.call("POST", "/api/v1/lodging/entries/"+first+"/notified", nil); code != http.StatusOK || strings.Contains(string(b), an.name) {
		t.Fatalf("notified: %d %s", code, b)
	}
	if s = r.ward("khoa-noi"); s.Warning.Pending != 2 || s.Entries[0].Notified.IsZero() {
		t.Fatalf("after one notice: %+v", s.Warning)
	}
	r.clock.Add(r.cfg.Lodging.Grace)
	r.waitEntries("khoa-noi", 2)
	r.waitErased(1)
	rec = r.recordBytes()
	if bytes.Contains(rec, sealed[first]) {
		t.Fatal("the notified person's sealed data is still in the record's files after the grace")
	}
	for id, sb := range sealed {
		if id != first && !bytes.Contains(rec, sb) {
			t.Fatal("an entry not yet due was erased")
		}
	}
	// At the deadline, everyone else's data goes, counted as not notified.
	r.clock.Set(time.Date(2026, 12, 2, 23, 0, 0, 0, ict))
	r.waitEntries("khoa-noi", 0)
	r.waitErased(3)
	rec = r.recordBytes()
	for id, sb := range sealed {
		if bytes.Contains(rec, sb) {
			t.Fatalf("entry %s: sealed data left in the record's files after the deadline", id)
		}
	}
	if st, err := os.Stat(filepath.Join(r.dir, "agent.db-wal")); err == nil && st.Size() != 0 {
		// The truncated log may have taken new frames since (the erasure events): they
		// must hold nobody's data, which the byte check above already shows.
		t.Logf("write-ahead log: %d bytes after the erasure's checkpoint", st.Size())
	}
	if r.counter(vocab.LodgingListed, nil) != 3 || r.counter(vocab.LodgingListed, map[string]string{"source": SourceChip}) != 1 ||
		r.counter(vocab.LodgingNotified, map[string]string{"ward": "khoa-noi"}) != 1 || r.counter(vocab.LodgingMissed, nil) != 2 {
		t.Fatal("lodging counts")
	}
	evs, _ := r.st.Events(context.Background(), store.EventFilter{Limit: 1000})
	all := fmt.Sprintf("%+v", evs) + r.logs.String()
	for _, p := range []person{an, binh, cuc} {
		for _, secret := range []string{p.id, p.name, p.birth} {
			if strings.Contains(all, secret) {
				t.Fatalf("the events or the log hold a listed person's data (%d chars)", len(secret))
			}
		}
	}
}

// TestDeadlines: a stay that begins before 23:00 is due by 23:00 that day; one that
// begins after 23:00, or before 08:00, by 08:00 the next morning (stay from the night
// before).
func TestDeadlines(t *testing.T) {
	t.Parallel()
	r := newRig(t, time.Date(2026, 12, 2, 7, 0, 0, 0, ict))
	for at, want := range map[string]string{
		"02/12/2026 07:59": "02/12/2026 08:00", "02/12/2026 08:00": "02/12/2026 23:00", "02/12/2026 22:59": "02/12/2026 23:00",
		"02/12/2026 23:00": "03/12/2026 08:00", "02/12/2026 23:45": "03/12/2026 08:00", "03/12/2026 00:30": "03/12/2026 08:00",
	} {
		t0, _ := time.ParseInLocation("02/01/2006 15:04", at, ict)
		if got := r.list.DeadlineFor(t0).In(ict).Format("02/01/2006 15:04"); got != want {
			t.Errorf("arrival %s: deadline %s, want %s", at, got, want)
		}
	}
	// At 07:00 the stay began last night.
	e, err := r.list.Add(context.Background(), "khoa-nhi", SourceTyped, Person{Number: an.id, Name: an.name})
	if err != nil || e.Person.From != "01/12/2026" || e.Person.To != "02/12/2026" || e.Deadline.In(ict).Hour() != 8 {
		t.Fatalf("early entry %+v %+v %v", e, e.Person, err)
	}
	if _, err := r.list.Add(context.Background(), "khoa-x", SourceTyped, Person{Number: an.id, Name: an.name}); err == nil {
		t.Fatal("an unknown ward accepted")
	}
}

// TestKeyKeptOutside: the key file is created 0600 outside the record, and a record
// copied without it opens nobody's data.
func TestKeyKeptOutside(t *testing.T) {
	t.Parallel()
	r := newRig(t, time.Date(2026, 12, 2, 20, 0, 0, 0, ict))
	fi, err := os.Stat(r.cfg.Lodging.KeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 || strings.HasPrefix(r.cfg.Lodging.KeyFile, filepath.Join(r.dir, "agent.db")) {
		t.Fatalf("key file %v %v", fi, err)
	}
	e, err := r.list.Add(context.Background(), "khoa-noi", SourceTyped, Person{Number: an.id, Name: an.name})
	if err != nil {
		t.Fatal(err)
	}
	other, err := loadKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.open(e.ID, r.sealedOf(e.ID)); err == nil {
		t.Fatal("another key opens the entry")
	}
	if _, err := r.list.seal.open("another-id", r.sealedOf(e.ID)); err == nil {
		t.Fatal("the sealed data opens under another entry's id")
	}
	os.WriteFile(filepath.Join(r.dir, "short.key"), []byte("short"), 0o600)
	if _, err := loadKey(filepath.Join(r.dir, "short.key")); err == nil || !strings.Contains(err.Error(), "not a 32-byte key") {
		t.Fatalf("a short key: %v", err)
	}
}

// readXLSX reads the first sheet of a workbook the export wrote, with Go's zip and XML
// readers: row by row, each cell's inline text.
func readXLSX(t *testing.T, b []byte) [][]string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := z.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sheet struct {
		Rows []struct {
			Cells []struct {
				Ref  string `xml:"r,attr"`
				Text string `xml:"is>t"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.NewDecoder(f).Decode(&sheet); err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, r := range sheet.Rows {
		var row []string
		for _, c := range r.Cells {
			row = append(row, c.Text)
		}
		out = append(out, row)
	}
	return out
}

// TestListSurvivesARestart: the list is in the record, so an agent restarted in the
// evening shows it again; an agent that was off over the deadline erases it at start
// and counts those not notified as missed, once.
func TestListSurvivesARestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, time.Date(2026, 12, 2, 21, 0, 0, 0, ict))
	ctx := context.Background()
	e, err := r.list.Add(ctx, "khoa-noi", SourceTyped, Person{Number: an.id, Name: an.name})
	if err != nil {
		t.Fatal(err)
	}
	sealed := r.sealedOf(e.ID)
	deps := r.list.d
	again, err := New(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	if es, err := again.Entries(ctx, "khoa-noi"); err != nil || len(es) != 1 || es[0].Person == nil || es[0].Person.Name != an.name {
		t.Fatalf("after a restart in the evening: %+v %v", es, err)
	}
	r.stop() // the agent is off over the deadline
	r.list.Wait()
	r.clock.Set(time.Date(2026, 12, 3, 7, 30, 0, 0, ict))
	for range 2 {
		again, err = New(ctx, deps)
		if err != nil {
			t.Fatal(err)
		}
		if es, _ := again.Entries(ctx, ""); len(es) != 0 {
			t.Fatalf("after the deadline: %d entries", len(es))
		}
	}
	if r.counter(vocab.LodgingMissed, nil) != 1 || bytes.Contains(r.recordBytes(), sealed) {
		t.Fatal("the entry erased at start is not counted once as missed, or its sealed data is left in the record")
	}
}
