package hub

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"motcua-agent/internal/netguard"
	"motcua-agent/sync/wire"
)

// Defaults of what one client and all clients together may hold of the hub.
const (
	// DefaultBodyBudget caps the bytes of push bodies being received before their
	// signature can be checked, over all clients.
	DefaultBodyBudget = 64 << 20
	// DefaultBodyBudgetPerAddress caps them per client address: two full-size pushes.
	DefaultBodyBudgetPerAddress = 8 << 20
	// MinBodyRate is the slowest a push body may arrive: a full 4 MiB body on a
	// 512 kbit/s commune line takes about a minute (a day's 5,000 rows gzipped are
	// about 100 KB); slower than this rate it is cut, the whole body's deadline being
	// 10 s plus its size at this rate.
	MinBodyRate = 64 << 10 // bytes per second
)

// bodyDeadline is how long a body of n bytes may take to arrive.
func bodyDeadline(n int64) time.Duration {
	return 10*time.Second + time.Duration(n)*time.Second/MinBodyRate
}

// bodyBudget counts the bytes of bodies received so far and not yet done with, in all,
// per client address and per device named in the headers. Bytes are counted as they
// arrive, never reserved ahead from a declared Content-Length: a client that declares
// 4 MiB and sends nothing holds nothing of it.
type bodyBudget struct {
	mu                      sync.Mutex
	total                   int64
	perAddr, perDevice      map[string]int64
	max, maxAddr, maxDevice int64
}

func newBodyBudget(max, perAddr int64) *bodyBudget {
	if max <= 0 {
		max = DefaultBodyBudget
	}
	if perAddr <= 0 {
		perAddr = DefaultBodyBudgetPerAddress
	}
	return &bodyBudget{perAddr: map[string]int64{}, perDevice: map[string]int64{},
		max: max, maxAddr: perAddr, maxDevice: 2 * perAddr}
}

// take counts n more bytes for addr and device, or says no at once: a client over its
// share waits by retrying later, never by holding a slot.
func (b *bodyBudget) take(addr, device string, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total+n > b.max || b.perAddr[addr]+n > b.maxAddr || b.perDevice[device]+n > b.maxDevice {
		return false
	}
	b.total += n
	b.perAddr[addr] += n
	b.perDevice[device] += n
	return true
}

// give returns n bytes of addr and device.
func (b *bodyBudget) give(addr, device string, n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total -= n
	if b.perAddr[addr] -= n; b.perAddr[addr] <= 0 {
		delete(b.perAddr, addr)
	}
	if b.perDevice[device] -= n; b.perDevice[device] <= 0 {
		delete(b.perDevice, device)
	}
}

// heldBy is the bytes addr holds now.
func (b *bodyBudget) heldBy(addr string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perAddr[addr]
}

// bodyChunk is how much of a body is read (and counted) at a time.
const bodyChunk = 32 << 10

// readBody reads a push's body of its declared length within the body deadline,
// counting the bytes against the budget as they arrive, shared by the client's address
// and the device the headers name (a device's share is two addresses' worth: the
// name is not authenticated yet, so one address alone cannot starve a device). release gives the bytes back (once the push is
// answered); on a refusal they are given back already.
func (h *Hub) readBody(w http.ResponseWriter, r *http.Request, device string) (body []byte, release func(), perr *pushError) {
	addr := clientAddress(r)
	var held int64
	give := func() { h.bodies.give(addr, device, held); held = 0 }
	defer func() {
		if perr != nil {
			give()
		}
	}()
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(bodyDeadline(r.ContentLength))); err != nil {
		h.log.Debug("push: set body deadline", "err", err)
	}
	body = make([]byte, 0, min(r.ContentLength, bodyChunk))
	for int64(len(body)) < r.ContentLength {
		n := min(r.ContentLength-int64(len(body)), bodyChunk)
		if !h.bodies.take(addr, device, n) {
			return nil, nil, early(refuse(http.StatusServiceUnavailable, wire.CodeBusy, "too many pushes being received; retry later"))
		}
		held += n
		body = slices.Grow(body, int(n))
		got, err := io.ReadFull(r.Body, body[len(body):len(body)+int(n)])
		body = body[:len(body)+got]
		if err != nil {
			return nil, nil, early(refuse(http.StatusBadRequest, wire.CodeMalformed, "read body: %v", err))
		}
	}
	if n, _ := r.Body.Read(make([]byte, 1)); n > 0 {
		return nil, nil, early(refuse(http.StatusBadRequest, wire.CodeMalformed, "body longer than its Content-Length"))
	}
	rc.SetReadDeadline(time.Time{})
	return body, give, nil
}

func clientAddress(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// DefaultConnLimits are the hub's connection caps: a commune's agents behind one NAT
// address share its 256.
var DefaultConnLimits = netguard.Limits{PerAddress: 256, Total: 8192}

// Server is the hub's HTTP server with timeouts that bound what an idle or slow client
// holds: headers within 10 s, idle keep-alive connections closed after a minute. Push
// bodies get their own deadline from their size. Serve it on Listen's listener. The
// database connections the pushes use are opened first (store.WarmUp).
func (h *Hub) Server() *http.Server {
	h.store.WarmUp(context.Background())
	return &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       bodyDeadline(wire.MaxBodyBytes) + 10*time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Listen wraps ln with connection caps (DefaultConnLimits for zero fields) and sets
// srv's ConnState so idle keep-alive connections are given up first when a cap is
// reached.
func Listen(ln net.Listener, srv *http.Server, lim netguard.Limits) *netguard.Listener {
	if lim.PerAddress <= 0 {
		lim.PerAddress = DefaultConnLimits.PerAddress
	}
	if lim.Total <= 0 {
		lim.Total = DefaultConnLimits.Total
	}
	gl := netguard.Listen(ln, lim)
	srv.ConnState = gl.ConnState
	return gl
}
