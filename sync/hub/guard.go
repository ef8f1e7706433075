package hub

import (
	"net"
	"net/http"
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
	// MinBodyRate is the slowest a push body may arrive: a 4 MiB body on a 512 kbit/s
	// commune line takes about a minute; slower than this rate it is cut.
	MinBodyRate = 16 << 10 // bytes per second
)

// bodyDeadline is how long a body of n bytes may take to arrive.
func bodyDeadline(n int64) time.Duration {
	return 10*time.Second + time.Duration(n)*time.Second/MinBodyRate
}

// bodyBudget counts the bytes of bodies being read, in all and per client address.
type bodyBudget struct {
	mu        sync.Mutex
	total     int64
	perAddr   map[string]int64
	max       int64
	maxPerAdr int64
}

func newBodyBudget(max, perAddr int64) *bodyBudget {
	if max <= 0 {
		max = DefaultBodyBudget
	}
	if perAddr <= 0 {
		perAddr = DefaultBodyBudgetPerAddress
	}
	return &bodyBudget{perAddr: map[string]int64{}, max: max, maxPerAdr: perAddr}
}

// acquire reserves n bytes for addr, or says no at once: a client over its share
// waits by retrying later, never by holding a slot.
func (b *bodyBudget) acquire(addr string, n int64) (release func(), ok bool) {
	n = max(n, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total+n > b.max || b.perAddr[addr]+n > b.maxPerAdr {
		return nil, false
	}
	b.total += n
	b.perAddr[addr] += n
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.total -= n
			if b.perAddr[addr] -= n; b.perAddr[addr] <= 0 {
				delete(b.perAddr, addr)
			}
			b.mu.Unlock()
		})
	}, true
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
// bodies get their own deadline from their size. Serve it on Listen's listener.
func (h *Hub) Server() *http.Server {
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
