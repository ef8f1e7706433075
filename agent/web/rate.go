package web

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Rate is how often a client may do something that uses up what the office cannot get
// back in a day (ticket numbers, printer paper): Burst at once, then one every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Rates a route is held to: PerClient for each client address, and Shared for all
// the clients that are neither this PC nor one of http.office_devices together, so a
// token used from many LAN machines at once still cannot run down the day, while the
// office's own kiosks keep their own allowance.
type Rates struct {
	PerClient, Shared Rate
	// Message is what the person at the screen reads when a request is refused (429),
	// in Vietnamese.
	Message string
}

// TicketRates hold the ticket kiosk: a busy kiosk issues a ticket every few seconds at
// most (a citizen walks up, reads the buttons, takes the slip), while a token run by a
// script took the day's numbers 1–9999 in 20 s. One client may take 60 at once and one
// every 2 s after; all the clients that are not the office's own take 30 at once and
// one every 2 s together: a flood needs over 5 hours to use up a service's numbers,
// and none of it comes from an office kiosk's own allowance.
var TicketRates = Rates{
	PerClient: Rate{Burst: 60, Every: 2 * time.Second},
	Shared:    Rate{Burst: 30, Every: 2 * time.Second},
	Message:   "Máy lấy số đang nhận quá nhiều yêu cầu. Mời ông/bà chờ ít phút rồi lấy số lại.",
}

// ReprintRates hold reprints (paper and the printer's time): a slip is reprinted when
// it jammed or was lost, a few times an hour.
var ReprintRates = Rates{
	PerClient: Rate{Burst: 20, Every: 6 * time.Second},
	Shared:    Rate{Burst: 20, Every: 6 * time.Second},
	Message:   "Máy in đang nhận quá nhiều yêu cầu in lại. Mời chờ ít phút rồi thử lại.",
}

// Limited wraps h so requests beyond rates are refused with 429, Retry-After and
// rates.Message. Register the result with Handle or HandleFunc as usual.
func (s *Server) Limited(rates Rates, h http.HandlerFunc) http.HandlerFunc {
	l := &limiter{rates: rates, now: s.opts.Now, clients: map[netip.Addr]*bucket{}}
	return func(w http.ResponseWriter, r *http.Request) {
		addr := remoteAddr(r)
		if wait := l.take(addr, s.trustedClient(addr, s.office)); wait > 0 {
			s.limited.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			WriteError(w, http.StatusTooManyRequests, "rate limit: try again in "+wait.Round(time.Second).String(), rates.Message)
			return
		}
		h(w, r)
	}
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limiter is token buckets per client address and one shared by untrusted clients.
type limiter struct {
	rates   Rates
	now     func() time.Time
	mu      sync.Mutex
	clients map[netip.Addr]*bucket
	shared  bucket
}

// bucket holds tokens as of a time; it is full when never used.
type bucket struct {
	used bool
	have float64
	at   time.Time
}

// fill brings b up to now; it returns how long until one token is there.
func (b *bucket) fill(r Rate, now time.Time) time.Duration {
	if !b.used {
		b.used, b.have, b.at = true, float64(r.Burst), now
	}
	if el := now.Sub(b.at); el > 0 {
		b.have = min(float64(r.Burst), b.have+float64(el)/float64(r.Every))
	}
	b.at = now
	if b.have >= 1 {
		return 0
	}
	return time.Duration((1 - b.have) * float64(r.Every))
}

// maxClients bounds the per-client table; full buckets are dropped first when it grows.
const maxClients = 4096

// take spends a token of addr's bucket (and of the shared one, for an untrusted
// client), or says how long to wait.
func (l *limiter) take(addr netip.Addr, trusted bool) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[addr]
	if b == nil {
		if len(l.clients) >= maxClients {
			l.prune(now)
		}
		b = &bucket{}
		l.clients[addr] = b
	}
	wait := b.fill(l.rates.PerClient, now)
	if !trusted {
		wait = max(wait, l.shared.fill(l.rates.Shared, now))
	}
	if wait > 0 {
		return wait
	}
	b.have--
	if !trusted {
		l.shared.have--
	}
	return 0
}

// prune forgets clients whose bucket has filled up again (they are as if new), and
// if none has, every client: a table full of addresses is itself a flood.
func (l *limiter) prune(now time.Time) {
	for a, b := range l.clients {
		if b.fill(l.rates.PerClient, now); b.have >= float64(l.rates.PerClient.Burst) {
			delete(l.clients, a)
		}
	}
	if len(l.clients) >= maxClients {
		clear(l.clients)
	}
}
