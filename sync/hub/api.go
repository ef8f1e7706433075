package hub

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"motcua-agent/sync/hub/store"
	"motcua-agent/sync/hub/totals"
	"motcua-agent/sync/hub/web"
	"motcua-agent/sync/wire"
)

// Handler serves the hub: the push API, reports, the page, /healthz and /metrics.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.PushPath, h.servePush)
	mux.HandleFunc("GET "+wire.ConfigPath, h.serveConfig)
	mux.HandleFunc("GET /healthz", h.serveHealth)
	mux.HandleFunc("GET /metrics", h.serveMetrics)
	mux.Handle("GET /api/v1/report", h.readers(h.web.ServeReport))
	mux.Handle("GET /api/v1/report/services", h.readers(h.web.ServeServiceReport))
	mux.Handle("GET /api/v1/report/figures", h.readers(h.web.ServeFigureReport))
	mux.Handle("GET /api/v1/fleet", h.readers(h.web.ServeFleet))
	mux.Handle("GET /{$}", h.readers(h.web.ServePage))
	return mux
}

// readers guards the reading side with the report token, when one is configured.
func (h *Hub) readers(next http.HandlerFunc) http.Handler {
	if h.token == "" {
		return next
	}
	want := []byte(h.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = bearer
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, "Cần mã truy cập: mở trang với ?token=… do bộ phận CNTT tỉnh cấp.")
			return
		}
		next(w, r)
	})
}

type pushError struct {
	status    int
	code      string
	msg       string
	closeConn bool
}

func (e *pushError) Error() string { return e.code + ": " + e.msg }

func refuse(status int, code, format string, args ...any) *pushError {
	return &pushError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func (h *Hub) writeJSON(w http.ResponseWriter, status int, v any) { web.WriteJSON(h.log, w, status, v) }

func (h *Hub) servePush(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	resp, perr := h.push(w, r)
	if perr != nil {
		h.metrics.push(perr.code)
		h.refusals.note(h.log, perr, clientAddress(r))
		if perr.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter(perr.code))
		}
		if perr.closeConn {
			w.Header().Set("Connection", "close") // the body was not read: the connection cannot serve another request
		}
		h.writeJSON(w, perr.status, wire.ErrorResponse{Code: perr.code, Message: perr.msg, HubTime: h.now().UTC()})
		return
	}
	h.metrics.push("ok")
	h.metrics.accepted.Add(int64(resp.Accepted))
	h.metrics.ignored.Add(int64(resp.Ignored))
	h.metrics.pushSeconds.Observe(time.Since(start).Seconds())
	h.writeJSON(w, http.StatusOK, resp)
}

// push authenticates, decodes, validates and stores one push. Nothing is stored unless
// every step passes. Everything the headers alone can refuse (their shape, the time, a
// missing or too large declared size) is refused before a byte of the body is read; the
// body is then read within a deadline proportional to its size and only while the
// hub's budget for unauthenticated bodies allows; past the hub's capacity the push is
// shed (shed.go).
func (h *Hub) push(w http.ResponseWriter, r *http.Request) (*wire.PushResponse, *pushError) {
	ctx := r.Context()
	auth, err := wire.ParseSignedHeaders(r.Header)
	if err != nil {
		return nil, early(refuse(http.StatusUnauthorized, wire.CodeMissingAuth, "%v", err))
	}
	now := h.now()
	if skew := auth.Time.Sub(now); skew > wire.MaxClockSkew || skew < -wire.MaxClockSkew {
		return nil, early(refuse(http.StatusUnauthorized, wire.CodeClockSkew, "request time %s is %s away from hub time %s",
			auth.Time.UTC().Format(time.RFC3339), skew.Round(time.Second), now.UTC().Format(time.RFC3339)))
	}
	switch {
	case r.ContentLength < 0:
		return nil, early(refuse(http.StatusLengthRequired, wire.CodeMalformed, "Content-Length is required"))
	case r.ContentLength > wire.MaxBodyBytes:
		return nil, early(refuse(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "body larger than %d bytes", wire.MaxBodyBytes))
	}
	// Past capacity the push is shed before a byte of its body is read (shed.go).
	if h.load.full() {
		return nil, early(busyRefusal())
	}
	// The body is read first, its bytes counted as they arrive, so that a client which
	// sends nothing holds neither bytes nor a place among the pushes being worked on.
	body, release, perr := h.readBody(w, r, auth.Device)
	if perr != nil {
		return nil, perr
	}
	defer release()
	if !h.load.admit() {
		return nil, busyRefusal()
	}
	defer h.load.leave()
	dev, perr := h.authenticate(r, auth, body)
	if perr != nil {
		return nil, perr
	}
	var push wire.PushRequest
	if perr := decodePush(r.Header.Get("Content-Encoding"), body, &push); perr != nil {
		return nil, perr
	}
	if err := push.Validate(h.today()); err != nil {
		if errors.Is(err, wire.ErrSchema) {
			return nil, refuse(http.StatusBadRequest, wire.CodeSchema, "%v", err)
		}
		return nil, refuse(http.StatusUnprocessableEntity, wire.CodeInvalid, "%v", err)
	}
	if push.Device != auth.Device || push.Site != dev.site {
		// The device is authenticated: it may learn its own enrollment.
		return nil, refuse(http.StatusForbidden, wire.CodeWrongSite, "body names device %q at site %q; this device is enrolled at site %q",
			push.Device, push.Site, dev.site)
	}
	if err := totals.CheckPlacement(&push, dev.kind); err != nil {
		return nil, refuse(http.StatusUnprocessableEntity, wire.CodeInvalid, "%v", err)
	}
	totals.MaskDigitRuns(push.Heartbeat)
	if err := h.totals.StoreNames(ctx, dev.site, push.Names); err != nil {
		h.log.Warn("push: store names", "device", auth.Device, "err", err)
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub's database is busy; retry later")
	}
	res := h.store.Submit(ctx, h.load.queueWait, store.NewJob(auth.Device, dev.site, auth.Nonce, &push))
	if errors.Is(res.Err, store.ErrQueueFull) {
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub is storing as many pushes as it can; retry later")
	}
	if res.Err != nil && store.Retryable(res.Err) {
		h.log.Warn("push: store: conflicts with other writers persisted", "err", res.Err)
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeBusy, "the hub's database is busy; retry later")
	}
	if res.Err != nil {
		h.log.Error("push: store", "device", auth.Device, "err", res.Err)
		return nil, refuse(http.StatusServiceUnavailable, wire.CodeInternal, "could not store the push; retry later")
	}
	if res.Replay {
		return nil, refuse(http.StatusConflict, wire.CodeReplay, "nonce already used: request replayed")
	}
	if res.OverBudget {
		return nil, overBudgetRefusal()
	}
	resp := &wire.PushResponse{
		Schema:      wire.SchemaVersion,
		Accepted:    res.Accepted,
		Ignored:     res.Ignored,
		Ack:         push.MaxRevision(),
		HubTime:     h.now().UTC(),
		MaxRevision: res.MaxRevision,
		Release:     res.Release,
	}
	if hb := push.Heartbeat; hb != nil && hb.Config != nil && dev.kind == KindAgent {
		resp.Config = h.configOffer(ctx, auth.Device, dev.site, hb.Config)
	}
	return resp, nil
}

// authenticate checks a signed request's device, nonce and signature (a push, a
// configuration fetch). An unknown device is answered as a bad signature, like any
// other: the answer must not tell which device names are enrolled. A nonce already
// used is a captured request sent again (the push's writer checks again in the
// transaction that stores, for two copies arriving together).
func (h *Hub) authenticate(r *http.Request, auth wire.SignedHeaders, body []byte) (deviceRecord, *pushError) {
	dev, used, err := h.lookupPush(r.Context(), auth.Device, auth.Nonce)
	if errors.Is(err, ErrUnknownDevice) {
		dev, used, err = deviceRecord{unknown: true, secret: h.decoy}, false, nil
	}
	if err != nil {
		h.log.Error("device lookup", "path", r.URL.Path, "err", err)
		return dev, refuse(http.StatusServiceUnavailable, wire.CodeInternal, "device lookup failed; retry later")
	}
	if used {
		return dev, refuse(http.StatusConflict, wire.CodeReplay, "nonce already used: request replayed")
	}
	if !auth.Verify(dev.secret, r.Method, r.URL.RequestURI(), body) || dev.unknown {
		return dev, refuse(http.StatusUnauthorized, wire.CodeBadSignature, "unknown device, or the signature does not match its secret (wrong secret or altered request)")
	}
	if dev.revoked {
		return dev, refuse(http.StatusForbidden, wire.CodeRevoked, "this device was revoked at this hub")
	}
	return dev, nil
}

// early marks a refusal given before the body was read in full.
func early(e *pushError) *pushError {
	e.closeConn = true
	return e
}

func decodePush(encoding string, body []byte, push *wire.PushRequest) *pushError {
	var rd io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
	case "gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(rd)
		} else {
			err = zr.Reset(rd)
		}
		if err != nil {
			return refuse(http.StatusBadRequest, wire.CodeMalformed, "gzip: %v", err)
		}
		defer gzipReaders.Put(zr)
		rd = zr
	default:
		return refuse(http.StatusUnsupportedMediaType, wire.CodeMalformed, "content encoding %q not supported (use gzip or none)", encoding)
	}
	decoded, err := io.ReadAll(io.LimitReader(rd, wire.MaxDecodedBytes+1))
	if err != nil {
		return refuse(http.StatusBadRequest, wire.CodeMalformed, "gzip: %v", err)
	}
	if len(decoded) > wire.MaxDecodedBytes {
		return refuse(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "decoded body larger than %d bytes", wire.MaxDecodedBytes)
	}
	if err := wire.DecodeStrict(decoded, push); err != nil {
		return refuse(http.StatusBadRequest, wire.CodeMalformed, "malformed JSON: %v", err)
	}
	return nil
}

func (h *Hub) serveHealth(w http.ResponseWriter, r *http.Request) {
	if err := h.rdb.PingContext(r.Context()); err != nil {
		h.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down", "error": err.Error()})
		return
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "time": h.now().UTC()})
}

// gzipReaders keeps decompressors between pushes (each push is one gzip stream; a new
// reader allocates its window every time).
var gzipReaders sync.Pool
