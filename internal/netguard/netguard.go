// Package netguard bounds what a network client can hold of a server: connections per
// client address and in all, with idle keep-alive connections given up first when a
// limit is reached. Both the agent's local server and the hub use it.
//
// It must never block Accept on one client: a connection over a limit is closed at
// once (or an idle one of the same address is closed to make room).
package netguard

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Limits caps connections. Zero means the default.
type Limits struct {
	PerAddress int // open connections from one IP address (default 64)
	Total      int // open connections in all (default 4096)
}

// Listener wraps a net.Listener with Limits. Set its ConnState as the http.Server's
// ConnState so idle connections can be given up for new ones.
type Listener struct {
	net.Listener
	lim Limits

	mu      sync.Mutex
	perAddr map[string]int
	total   int
	idle    map[*conn]struct{}

	refused atomic.Int64
	evicted atomic.Int64
}

// Listen wraps ln.
func Listen(ln net.Listener, lim Limits) *Listener {
	if lim.PerAddress <= 0 {
		lim.PerAddress = 64
	}
	if lim.Total <= 0 {
		lim.Total = 4096
	}
	return &Listener{Listener: ln, lim: lim, perAddr: map[string]int{}, idle: map[*conn]struct{}{}}
}

type conn struct {
	net.Conn
	l    *Listener
	addr string
	once sync.Once
	gone bool // released (l.mu held)
}

func (c *conn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

// Accept returns the next connection within the limits; connections over them are
// closed and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := hostOf(nc.RemoteAddr())
		c := &conn{Conn: nc, l: l, addr: addr}
		victim, ok := l.admit(c)
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
		}
		if !ok {
			l.refused.Add(1)
			nc.Close()
			continue
		}
		return c, nil
	}
}

// admit counts c in, making room by choosing an idle connection to close (of the same
// address when that address is full), or says no.
func (l *Listener) admit(c *conn) (victim *conn, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	addrFull := l.perAddr[c.addr] >= l.lim.PerAddress
	totalFull := l.total >= l.lim.Total
	if addrFull || totalFull {
		for v := range l.idle {
			if !addrFull || v.addr == c.addr {
				victim = v
				break
			}
		}
		if victim == nil {
			return nil, false
		}
		// The victim's slot passes to c now; its Close will not count it again.
		delete(l.idle, victim)
		victim.once.Do(func() { l.releaseLocked(victim) })
	}
	l.perAddr[c.addr]++
	l.total++
	return victim, true
}

func (l *Listener) release(c *conn) {
	l.mu.Lock()
	l.releaseLocked(c)
	l.mu.Unlock()
}

func (l *Listener) releaseLocked(c *conn) {
	c.gone = true
	delete(l.idle, c)
	l.total--
	if l.perAddr[c.addr]--; l.perAddr[c.addr] <= 0 {
		delete(l.perAddr, c.addr)
	}
}

// ConnState tracks which connections are idle between requests (set it as
// http.Server.ConnState).
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok { // TLS
		nc = u.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateIdle:
		if !c.gone {
			l.idle[c] = struct{}{}
		}
	default:
		delete(l.idle, c)
	}
}

// Stats are the listener's figures.
type Stats struct {
	Open    int   `json:"open"`
	Idle    int   `json:"idle"`
	Refused int64 `json:"refused"` // connections closed at once for a full limit
	Evicted int64 `json:"evicted"` // idle connections closed to make room
}

// Stats reads the figures.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.total, Idle: len(l.idle), Refused: l.refused.Load(), Evicted: l.evicted.Load()}
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
