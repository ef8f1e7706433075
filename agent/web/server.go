// Package web is the agent's local HTTP face: the API that pages and the office's own
// applications call, the event stream, /healthz, /metrics and the embedded pages.
//
// It binds to loopback by default, checks a bearer token per role on every protected
// route and refuses browsers from origins the config does not list. It never sends
// personal data to a role the config does not allow.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/health"
	"motcua-agent/agent/store"
	"motcua-agent/config"
	"motcua-agent/internal/metrics"
	"motcua-agent/internal/netguard"
	"motcua-agent/sync/wire"
)

// Role is what a token lets its bearer do.
type Role string

const (
	RoleNone    Role = ""
	RoleKiosk   Role = "kiosk"
	RoleCounter Role = "counter"
	RoleDisplay Role = "display"
	RoleAdmin   Role = "admin"
	// RoleRating is a counter's rating tablet or keypad: it may rate a finished ticket
	// and learn which ticket its counter just finished, nothing else.
	RoleRating Role = "rating"
)

// Options build a Server.
type Options struct {
	Config  *config.Config
	Tokens  map[Role]string
	Store   *store.Store
	Bus     *bus.Bus
	Health  *health.Registry
	Metrics *metrics.Registry
	Log     *slog.Logger
	Version string
	Now     func() time.Time
	// ReadTimeout bounds reading a request, body included (DefaultReadTimeout when 0).
	// Once the request is read the deadline is gone (net/http clears it), so a long
	// response such as the event stream is not cut.
	ReadTimeout time.Duration
	// HeaderTimeout bounds reading a request's headers (DefaultHeaderTimeout when 0).
	HeaderTimeout time.Duration
	// Limits caps connections (DefaultConnLimits when zero). The PC's own addresses
	// and http.office_devices are always the trusted clients.
	Limits netguard.Limits
}

// Server serves the local API and pages.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	byToken  map[string]Role
	origins  map[string]bool
	personal map[Role]bool
	started  time.Time
	srv      *http.Server
	ln       net.Listener
	conns    *netguard.Listener
	names    map[string]bool // host names answered besides IP literals of this machine
	ownIPs   map[string]bool

	mu     sync.Mutex
	status map[string]StatusFunc
	pages  []Page

	office []netip.Prefix // http.office_devices

	requests *metrics.Counter
	denied   *metrics.Counter
	limited  *metrics.Counter
}

// Page is a link shown in the pages' navigation.
type Page struct {
	Path  string `json:"path"`
	Title string `json:"title"`
	Role  Role   `json:"role"`
}

// New builds the server and its built-in routes; Start listens.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opts: o, mux: http.NewServeMux(), byToken: map[string]Role{}, origins: map[string]bool{},
		personal: map[Role]bool{RoleAdmin: true}, started: o.Now(), status: map[string]StatusFunc{},
		requests: o.Metrics.Counter("motcua_http_requests_total", "HTTP requests served."),
		denied:   o.Metrics.Counter("motcua_http_denied_total", "HTTP requests refused for a missing or wrong token or origin."),
		limited:  o.Metrics.Counter("motcua_http_rate_limited_total", "HTTP requests refused (429) for coming faster than their route allows."),
		office:   officeDevices(o.Config.HTTP),
	}
	for r, t := range o.Tokens {
		if t != "" {
			s.byToken[t] = r
		}
	}
	for _, or := range o.Config.HTTP.AllowedOrigins {
		s.origins[strings.TrimRight(or, "/")] = true
	}
	for _, r := range o.Config.HTTP.PersonalDataRoles {
		// A kiosk's or board's screen faces the public: config check refuses them, and
		// a config built some other way does not get them either.
		if !anonymousRole(Role(r)) {
			s.personal[Role(r)] = true
		}
	}
	s.names, s.ownIPs = allowedHosts(o.Config.HTTP)
	s.routes()
	return s
}

// Handle registers h at a ServeMux pattern ("POST /api/v1/tickets"). With no roles the
// route is public; otherwise the caller's token must carry one of them (admin always
// passes).
func (s *Server) Handle(pattern string, h http.Handler, roles ...Role) {
	s.mux.Handle(pattern, s.guard(h, roles))
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request), roles ...Role) {
	s.Handle(pattern, http.HandlerFunc(h), roles...)
}

// AddStatus adds a flow's named block to the dashboard (sync state, queue summary …).
func (s *Server) AddStatus(name string, fn StatusFunc) {
	s.mu.Lock()
	s.status[name] = fn
	s.mu.Unlock()
}

// Pages are the pages listed in the navigation, in the order they were added.
func (s *Server) Pages() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Page(nil), s.pages...)
}

// AddPage lists a page in the navigation of every page. A page that needs a
// parameter (a counter, a station, a lane) is listed once per value, with it.
func (s *Server) AddPage(p Page) {
	s.mu.Lock()
	s.pages = append(s.pages, p)
	sort.Slice(s.pages, func(i, j int) bool { return s.pages[i].Path < s.pages[j].Path })
	s.mu.Unlock()
}

type ctxKey struct{}

// RoleOf is the role the request's token carries (RoleNone when it has none).
func RoleOf(r *http.Request) Role {
	role, _ := r.Context().Value(ctxKey{}).(Role)
	return role
}

// MayReceivePersonal says whether a role may receive personal fields.
func (s *Server) MayReceivePersonal(r Role) bool { return s.personal[r] }

func (s *Server) tokenRole(r *http.Request) Role {
	tok := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		tok = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	} else if q := r.URL.Query().Get("token"); q != "" {
		tok = q
	}
	if tok == "" {
		return RoleNone
	}
	return s.byToken[tok]
}

func (s *Server) guard(h http.Handler, roles []Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role := s.tokenRole(r)
		if len(roles) > 0 && !allowed(role, roles) {
			s.denied.Inc()
			if role == RoleNone {
				WriteError(w, http.StatusUnauthorized, "missing or unknown token", "Thiếu mã truy cập hoặc mã không đúng.")
			} else {
				WriteError(w, http.StatusForbidden, "role "+string(role)+" may not do this", "Vai trò này không được phép thực hiện thao tác.")
			}
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if f := s.opts.Store.Fault(); f != nil {
				// Nothing can be recorded: say so before the handler tries.
				writeUnavailable(w, f)
				return
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, role)))
	})
}

// RetryAfterSeconds is what a refused write asks the caller to wait: the agent probes
// the record every few seconds and takes writes again as soon as it can.
const RetryAfterSeconds = 15

func writeUnavailable(w http.ResponseWriter, f *store.Fault) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	WriteError(w, http.StatusServiceUnavailable, "the record cannot take writes ("+f.Kind+"): "+f.Err, f.Message())
}

// WriteFailure answers a request whose action failed: 503 with Retry-After when the
// record cannot take writes (a full disk, a read-only record: not the caller's fault),
// otherwise status with en and vi.
func WriteFailure(w http.ResponseWriter, err error, status int, vi string) {
	if kind := store.FaultKind(err); kind != "" {
		writeUnavailable(w, &store.Fault{Kind: kind, Err: err.Error()})
		return
	}
	WriteError(w, status, err.Error(), vi)
}

func allowed(role Role, roles []Role) bool {
	if role == RoleAdmin {
		return true
	}
	for _, r := range roles {
		if r == role && role != RoleNone {
			return true
		}
	}
	return false
}

// ServeHTTP applies the host and origin policies, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Inc()
	if !s.hostAllowed(r.Host) {
		s.denied.Inc()
		WriteError(w, http.StatusMisdirectedRequest, "host "+strconv.Quote(r.Host)+" is not this agent's (add it to http.allowed_hosts)",
			"Địa chỉ này không phải của máy trạm.")
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.sameOrigin(origin, r) {
		if !s.origins[origin] {
			s.denied.Inc()
			WriteError(w, http.StatusForbidden, "origin "+origin+" is not in http.allowed_origins",
				"Ứng dụng từ địa chỉ này chưa được phép kết nối.")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// Start listens on the configured address (use Addr for the real port when it was 0).
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Config.HTTP.Listen)
	if err != nil {
		return err
	}
	readTimeout, headerTimeout := s.opts.ReadTimeout, s.opts.HeaderTimeout
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	if headerTimeout <= 0 {
		headerTimeout = DefaultHeaderTimeout
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: min(headerTimeout, readTimeout), ReadTimeout: readTimeout,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	lim := s.opts.Limits
	if lim.Total == 0 {
		lim = DefaultConnLimits()
	}
	lim.Trusted = func(a netip.Addr) bool { return s.trustedClient(a, s.office) }
	gl := netguard.Listen(ln, lim)
	srv.ConnState = gl.ConnState
	s.mu.Lock()
	s.ln, s.srv, s.conns = gl, srv, gl
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(gl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// DefaultConnLimits cap the connections one address and all clients may hold open,
// within the process's descriptor budget (RLIMIT_NOFILE) less DescriptorsKept. A
// browser opens at most six connections to a host, and each open page holds one for
// its event stream; a quarter is kept for this PC and the office's own devices.
func DefaultConnLimits() netguard.Limits {
	return netguard.Limits{PerAddress: 64, Total: 1024, Reserved: 256}.FitTo(netguard.DescriptorBudget(), DescriptorsKept)
}

// DescriptorsKept are the descriptors left for everything but connections: the record
// and its WAL, devices, pipes to helpers, the log.
const DescriptorsKept = 128

// DefaultReadTimeout is Options.ReadTimeout's default: the API's bodies are a few
// hundred bytes, so a body still arriving after this is a client holding a slot.
const DefaultReadTimeout = 10 * time.Second

// DefaultHeaderTimeout is Options.HeaderTimeout's default.
const DefaultHeaderTimeout = 5 * time.Second

// Connections reports the listener's connection figures.
func (s *Server) Connections() netguard.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return netguard.Stats{}
	}
	return s.conns.Stats()
}

// Addr is the listening address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.opts.Config.HTTP.Listen
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting and waits for requests in flight (streams are cut).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// WriteJSON answers with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError answers with {"error": English for logs and programs, "message":
// Vietnamese for the person at the screen}.
func WriteError(w http.ResponseWriter, status int, en, vi string) {
	WriteJSON(w, status, map[string]string{"error": en, "message": vi})
}

// ReadJSON decodes a request body into v with the hub's strict reader (sync/wire):
// one object, no unknown fields, no key given twice or in another case, nothing after
// it, no string longer than MaxValueBytes and no body over MaxBodyBytes. A refusal
// answers 400 (413 for a body too large) saying which key failed, never repeating a
// value.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxBodyBytes), textBadRequest)
		return false
	}
	if err == nil {
		err = requestStrictness.Decode(body, v)
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, "malformed request body: "+err.Error(), textBadRequest)
		return false
	}
	return true
}

// MaxBodyBytes and MaxValueBytes bound what a write to the API may send: its requests
// are a few short fields (a service code, a counter, a QR payload).
const (
	MaxBodyBytes  = 64 << 10
	MaxValueBytes = 2048
)

// requestStrictness is how every write to the agent is read: as strictly as the hub
// reads a push, with the pages' spelling of untagged fields ("who" for Who).
var requestStrictness = wire.Strictness{MaxString: MaxValueBytes, LowerFirst: true}

const textBadRequest = "Yêu cầu không hợp lệ."
