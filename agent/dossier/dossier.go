// Package dossier counts dossiers received and digitised per public service, the
// figures of the province's Đề án 06 report: from dossier receipts scanned at the
// counter (bus topic "scan"), from pages the counter's document scanner writes into a
// watched folder, and from the one-stop web app through the local API.
//
// Each dossier is counted once per day per state (received, digitised), whatever the
// number of sources that report it. It keeps dossier codes and service codes only,
// never the citizen's data.
package dossier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"

	"motcua-agent/agent/store"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/config/vocab"
	"motcua-agent/drivers/qrpayload"
)

// Metric names (dims {service}).
const (
	MetricReceived  = vocab.DossiersReceived
	MetricDigitized = vocab.DossiersDigitized
	MetricPages     = vocab.DossiersPages
)

// UnknownService is the service of a dossier whose receipt does not say it.
const UnknownService = "unknown"

// ErrUnknownService is a service code that is not in the catalogue.
var ErrUnknownService = errors.New("service not in the catalogue")

// ErrBadCode is a dossier code that cannot be one.
var ErrBadCode = errors.New("malformed dossier code")

// ErrIDNumber is a dossier code shaped like a personal ID number: refused, and the
// refusal never repeats it.
var ErrIDNumber = fmt.Errorf("%w: %w", ErrBadCode, qrpayload.ErrIDNumberAsCode)

// ErrBadCounter is a counter field that is not one of the site's counters, or not
// the shape of one (too long, or holding a run of digits such as an ID number): the
// refusal never repeats it.
var ErrBadCounter = errors.New("not one of this site's counters")

// MaxCounterLen bounds a counter's name (config names them "3", "quay-1").
const MaxCounterLen = 32

var counterRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkCounter accepts "" (not said) or a counter the site names.
func (f *Flow) checkCounter(counter string) error {
	if counter == "" {
		return nil
	}
	if len(counter) > MaxCounterLen || !counterRe.MatchString(counter) || digitRun(counter) > 6 || qrpayload.LooksLikeIDNumber(counter) {
		return fmt.Errorf("%w: a counter is at most %d letters, digits, '.', '_' or '-', with no long run of digits", ErrBadCounter, MaxCounterLen)
	}
	for _, c := range f.Counters {
		if c == counter {
			return nil
		}
	}
	return fmt.Errorf("%w (the config names %d)", ErrBadCounter, len(f.Counters))
}

// digitRun is the longest run of ASCII digits in s.
func digitRun(s string) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

var codeRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$`)

// checkCode accepts a dossier code of any province's shape, never a personal ID number.
func checkCode(code string) error {
	if qrpayload.LooksLikeIDNumber(code) {
		return ErrIDNumber
	}
	if !codeRe.MatchString(code) {
		return ErrBadCode
	}
	return nil
}

// Flow records dossier states.
type Flow struct {
	Store *store.Store
	Site  string
	Log   *slog.Logger
	Now   func() time.Time
	// Counters are the counters the site names (config.Config.CounterNames): a
	// dossier reported through the API may name only one of them.
	Counters  []string
	catalogue []config.Service
	byCode    map[string]config.Service
}

// New builds the flow with the config's catalogue.
func New(st *store.Store, cfg config.Dossier, site string, log *slog.Logger) *Flow {
	if log == nil {
		log = slog.Default()
	}
	f := &Flow{Store: st, Site: site, Log: log, Now: time.Now, catalogue: cfg.Catalogue(), byCode: map[string]config.Service{}}
	for _, s := range f.catalogue {
		f.byCode[s.Code] = s
	}
	return f
}

// Catalogue is the services this site counts.
func (f *Flow) Catalogue() []config.Service { return f.catalogue }

// service checks a service code: "" becomes UnknownService; strict refuses codes not
// in the catalogue (the API), otherwise they are kept as unknown (a scanned receipt).
func (f *Flow) service(code string, strict bool) (string, error) {
	if code == "" {
		return UnknownService, nil
	}
	if _, ok := f.byCode[code]; ok {
		return code, nil
	}
	if strict {
		if qrpayload.LooksLikeIDNumber(code) {
			return "", fmt.Errorf("%w (and shaped like an ID number)", ErrUnknownService)
		}
		return "", fmt.Errorf("%w: %q", ErrUnknownService, code)
	}
	return UnknownService, nil
}

// Received records that a dossier was received (source: scan, api).
func (f *Flow) Received(ctx context.Context, code, service, counter, source string, strict bool) (store.Event, error) {
	return f.record(ctx, KindReceived, code, service, counter, source, strict, 0, 0)
}

// Digitized records that a dossier's pages were digitised.
func (f *Flow) Digitized(ctx context.Context, code, service, counter, source string, strict bool, pages, files int) (store.Event, error) {
	return f.record(ctx, KindDigitized, code, service, counter, source, strict, pages, files)
}

func (f *Flow) record(ctx context.Context, kind, code, service, counter, source string, strict bool, pages, files int) (store.Event, error) {
	if err := checkCode(code); err != nil {
		return store.Event{}, fmt.Errorf("%s: %w", kind, err)
	}
	svc, err := f.service(service, strict)
	if err != nil {
		return store.Event{}, fmt.Errorf("%s: %w", kind, err)
	}
	if strict {
		if err := f.checkCounter(counter); err != nil {
			return store.Event{}, fmt.Errorf("%s: %w", kind, err)
		}
	}
	if pages < 0 || pages > 10000 || files < 0 || files > 10000 {
		return store.Event{}, fmt.Errorf("%s: pages and files must be 0-10000", kind)
	}
	dims := map[string]string{"service": svc}
	d := DossierAttrs{Dossier: code, Source: source}
	if dc, err := qrpayload.ParseDossierCode(code); err == nil {
		// The official shape names the receiving unit and the day it received the dossier.
		d.Unit, d.ReceivedOn = dc.Unit, dc.Received.Format(time.DateOnly)
	}
	var counts []store.Count
	attrs := store.AttrsOf(d)
	if kind == KindReceived {
		counts = receivedCounts(code, svc)
	} else {
		counts = []store.Count{{Metric: MetricDigitized, Dims: dims, Op: store.OpUnique, Key: code}}
		if pages > 0 {
			counts = append(counts, store.Count{Metric: MetricPages, Dims: dims, Value: int64(pages)})
		}
		attrs = store.AttrsOf(DigitizedAttrs{d, pages, files})
	}
	ev, err := f.Store.Append(ctx, store.Event{Kind: kind, Site: f.Site, Counter: counter, Service: svc, Attrs: attrs, Counts: counts})
	if err != nil {
		return ev, fmt.Errorf("%s: record: %w", kind, err)
	}
	f.Log.Info(kind, "dossier", code, "service", svc, "source", source, "pages", pages, "seq", ev.Seq)
	return ev, nil
}

// receivedCounts are the counts of a received dossier: once per code and day, however
// often its receipt is scanned or posted.
func receivedCounts(code, svc string) []store.Count {
	return []store.Count{{Metric: MetricReceived, Dims: map[string]string{"service": svc}, Op: store.OpUnique, Key: code}}
}

// ReceiptCounts checks a dossier code scanned at a counter and returns the service it
// counts under and the counts to carry in the scan's own event, so a receipt is counted
// in the same transaction that records the scan (never lost between two writes, never
// dropped by a busy bus). Service codes outside the catalogue count as unknown.
func (f *Flow) ReceiptCounts(code, service string) (string, []store.Count, error) {
	if err := checkCode(code); err != nil {
		return "", nil, err
	}
	svc, _ := f.service(service, false)
	return svc, receivedCounts(code, svc), nil
}

// Routes registers POST /api/v1/dossiers/{code}/received|digitized (counter role) and
// GET /api/v1/dossiers/services.
func (f *Flow) Routes(s *web.Server) {
	type body struct {
		Service string `json:"service"`
		Counter string `json:"counter"`
		Pages   int    `json:"pages"`
		Files   int    `json:"files"`
	}
	handle := func(digitized bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var b body
			if r.ContentLength != 0 && !web.ReadJSON(w, r, &b) {
				return
			}
			code := r.PathValue("code")
			var ev store.Event
			var err error
			if digitized {
				ev, err = f.Digitized(r.Context(), code, b.Service, b.Counter, "api", true, b.Pages, b.Files)
			} else {
				ev, err = f.Received(r.Context(), code, b.Service, b.Counter, "api", true)
			}
			switch {
			case errors.Is(err, ErrUnknownService):
				web.WriteError(w, http.StatusBadRequest, err.Error(), "Mã dịch vụ công không có trong danh mục.")
			case errors.Is(err, ErrIDNumber):
				web.WriteError(w, http.StatusBadRequest, err.Error(), "Đây là số định danh cá nhân, không phải mã hồ sơ: không ghi nhận.")
			case errors.Is(err, ErrBadCounter):
				web.WriteError(w, http.StatusBadRequest, err.Error(), "Quầy không có trong cấu hình của điểm này.")
			case errors.Is(err, ErrBadCode):
				web.WriteError(w, http.StatusBadRequest, err.Error(), "Mã hồ sơ không hợp lệ.")
			case err != nil:
				web.WriteFailure(w, err, http.StatusInternalServerError, "Không ghi nhận được hồ sơ.")
			default:
				web.WriteJSON(w, http.StatusOK, map[string]any{"seq": ev.Seq, "dossier": code, "service": ev.Service})
			}
		}
	}
	s.HandleFunc("POST /api/v1/dossiers/{code}/received", handle(false), web.RoleCounter)
	s.HandleFunc("POST /api/v1/dossiers/{code}/digitized", handle(true), web.RoleCounter)
	s.HandleFunc("GET /api/v1/dossiers/services", func(w http.ResponseWriter, r *http.Request) {
		web.WriteJSON(w, http.StatusOK, f.catalogue)
	}, web.RoleCounter, web.RoleKiosk, web.RoleDisplay)
	s.AddStatus("dossiers", f.dashboardBlock)
}

// ServiceDay is one service's figures for a day.
type ServiceDay struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Received  int64  `json:"received"`
	Digitized int64  `json:"digitized"`
	Pages     int64  `json:"pages"`
}

// Status is the dashboard block: today's dossiers per service and the share digitised.
type Status struct {
	Day       string `json:"day"`
	Received  int64  `json:"received"`
	Digitized int64  `json:"digitized"`
	// Share is digitised over received, in percent (0 when nothing was received).
	Share    float64      `json:"share_digitized_percent"`
	Services []ServiceDay `json:"services"`
}

// Today sums today's counters per service.
func (f *Flow) Today(ctx context.Context) (Status, error) {
	day, err := f.Store.TallyDay(ctx, f.Now())
	if err != nil {
		return Status{}, err
	}
	received, digitized, pages := day.By("service", MetricReceived), day.By("service", MetricDigitized), day.By("service", MetricPages)
	st := Status{Day: day.Day, Received: day.Total(MetricReceived), Digitized: day.Total(MetricDigitized), Services: []ServiceDay{}}
	for svc := range day.By("service", MetricReceived, MetricDigitized, MetricPages) {
		name := "Chưa rõ dịch vụ"
		if s, ok := f.byCode[svc]; ok {
			name = s.Name
		}
		st.Services = append(st.Services, ServiceDay{Code: svc, Name: name, Received: received[svc], Digitized: digitized[svc], Pages: pages[svc]})
	}
	sort.Slice(st.Services, func(i, j int) bool { return serviceLess(st.Services[i].Code, st.Services[j].Code) })
	// The share as the province computes it (config/vocab), so the two agree.
	st.Share, _ = vocab.LookupFigure(vocab.FigureDigitizedShare).Compute(map[string]int64{
		vocab.DossiersDigitized: st.Digitized, vocab.DossiersReceived: st.Received})
	return st, nil
}

// dashboardBlock is today's dossiers on the dashboard: the totals, the share
// digitised, then each service in code order.
func (f *Flow) dashboardBlock(ctx context.Context) web.Block {
	const title = "Hồ sơ hôm nay theo dịch vụ công thiết yếu"
	st, err := f.Today(ctx)
	if err != nil {
		f.Log.Warn("dossier: dashboard figures", "err", err)
		return web.FaultBlock(title, "Không đọc được số liệu hồ sơ.")
	}
	b := web.Block{Title: title}
	b.AddNumber("Hồ sơ tiếp nhận", st.Received)
	b.AddNumber("Hồ sơ đã số hóa", st.Digitized)
	b.Add("Tỷ lệ số hóa (%)", vocab.Decimal(st.Share))
	for _, s := range st.Services {
		key := "Dịch vụ " + s.Code
		if n, err := strconv.Atoi(s.Code); err == nil {
			key = fmt.Sprintf("Dịch vụ %02d", n)
		}
		b.Add(key+" – "+s.Name, fmt.Sprintf("tiếp nhận %s, số hóa %s (%s trang)",
			vocab.Number(s.Received), vocab.Number(s.Digitized), vocab.Number(s.Pages)))
	}
	return b
}

// serviceLess orders numeric codes numerically ("2" before "10"), then the rest.
func serviceLess(a, b string) bool {
	x, ea := strconv.Atoi(a)
	y, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil && x != y:
		return x < y
	case ea == nil && eb != nil:
		return true
	case ea != nil && eb == nil:
		return false
	}
	return a < b
}
