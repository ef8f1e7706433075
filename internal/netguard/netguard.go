// Package netguard bounds what a network client can hold of a server: connections per
// client and in all, with a share kept for trusted clients (the PC itself, the office's
// own kiosks and boards) that no other client can take. When a limit is reached, room
// is made at the cost of the client holding the most: its idle keep-alive connections
// first, then its busy ones, so a flood costs the flooder and not the office. Both the
// agent's local server and the hub use it.
//
// It must never block Accept on one client: a connection over a limit is closed at
// once (or another connection is closed to make room).
package netguard

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Limits caps connections. Zero means the default.
type Limits struct {
	PerAddress int // open connections from one client (default 64)
	Total      int // open connections in all (default 4096)
	// Trusted says whether a client address is one of the office's own. Trusted
	// clients may use every slot; the others share Total-Reserved. A trusted client's
	// connections are never closed to make room for another client's. Nil: none.
	Trusted func(netip.Addr) bool
	// Reserved is how many of Total only trusted clients may hold (Total/4 when
	// Trusted is set and Reserved is 0).
	Reserved int
}

// Listener wraps a net.Listener with Limits. Set its ConnState as the http.Server's
// ConnState so idle connections can be given up for new ones.
type Listener struct {
	net.Listener
	lim Limits

	mu        sync.Mutex
	clients   map[string]*client
	total     int
	untrusted int // connections of clients that are not trusted
	idle      int

	accepted  atomic.Int64
	refused   atomic.Int64
	evicted   atomic.Int64
	displaced atomic.Int64
}

// client is the connections of one address (an IPv6 client, of one /64: a machine on
// the LAN can take any address of its network's /64).
type client struct {
	key     string
	trusted bool
	conns   map[*conn]bool // → idle
}

// Listen wraps ln.
func Listen(ln net.Listener, lim Limits) *Listener {
	if lim.PerAddress <= 0 {
		lim.PerAddress = 64
	}
	if lim.Total <= 0 {
		lim.Total = 4096
	}
	if lim.Trusted == nil {
		lim.Reserved = 0
	} else if lim.Reserved <= 0 {
		lim.Reserved = lim.Total / 4
	}
	lim.Reserved = min(lim.Reserved, lim.Total-1)
	return &Listener{Listener: ln, lim: lim, clients: map[string]*client{}}
}

type conn struct {
	net.Conn
	l    *Listener
	c    *client
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
		l.accepted.Add(1)
		c := &conn{Conn: nc, l: l}
		victim, ok := l.admit(c, addrOf(nc.RemoteAddr()))
		if victim != nil {
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

// admit counts c in, making room by choosing a connection to close, or says no.
func (l *Listener) admit(c *conn, addr netip.Addr) (victim *conn, ok bool) {
	key := clientKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	cl := l.clients[key]
	if cl == nil {
		cl = &client{key: key, trusted: l.lim.Trusted != nil && l.lim.Trusted(addr), conns: map[*conn]bool{}}
	}
	switch {
	case len(cl.conns) >= l.lim.PerAddress:
		// A client at its own cap only trades an idle connection of its own.
		if victim = cl.idleConn(); victim != nil {
			l.evicted.Add(1)
		}
	case l.total >= l.lim.Total:
		victim = l.makeRoom(cl, true)
	case !cl.trusted && l.untrusted >= l.lim.Total-l.lim.Reserved:
		victim = l.makeRoom(cl, false)
	default:
		l.add(c, cl)
		return nil, true
	}
	if victim == nil {
		return nil, false
	}
	// The victim's slot passes to c now; its Close will not count it again.
	victim.once.Do(func() { l.releaseLocked(victim) })
	l.add(c, cl)
	return victim, true
}

func (l *Listener) add(c *conn, cl *client) {
	if len(cl.conns) == 0 {
		l.clients[cl.key] = cl
	}
	c.c = cl
	cl.conns[c] = false
	l.total++
	if !cl.trusted {
		l.untrusted++
	}
}

// makeRoom chooses the connection that gives way to a new one of cl: one of the
// untrusted client holding the most (its idle ones first; a busy one only if that
// client would still hold more than cl), or, when anyTrusted and every slot is a
// trusted client's, an idle one of those.
func (l *Listener) makeRoom(cl *client, anyTrusted bool) *conn {
	var most *client
	for _, o := range l.clients {
		if !o.trusted && (most == nil || len(o.conns) > len(most.conns)) {
			most = o
		}
	}
	if most != nil {
		if v := most.idleConn(); v != nil {
			l.evicted.Add(1)
			return v
		}
		if cl.trusted || (most != cl && len(most.conns) > len(cl.conns)+1) {
			for v := range most.conns {
				l.displaced.Add(1)
				return v
			}
		}
	}
	if anyTrusted && cl.trusted {
		for _, o := range l.clients {
			if v := o.idleConn(); v != nil {
				l.evicted.Add(1)
				return v
			}
		}
	}
	return nil
}

func (cl *client) idleConn() *conn {
	for c, idle := range cl.conns {
		if idle {
			return c
		}
	}
	return nil
}

func (l *Listener) release(c *conn) {
	l.mu.Lock()
	l.releaseLocked(c)
	l.mu.Unlock()
}

func (l *Listener) releaseLocked(c *conn) {
	c.gone = true
	cl := c.c
	if cl.conns[c] {
		l.idle--
	}
	delete(cl.conns, c)
	if len(cl.conns) == 0 {
		delete(l.clients, cl.key)
	}
	l.total--
	if !cl.trusted {
		l.untrusted--
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
	if c.gone {
		return
	}
	idle := s == http.StateIdle
	if was := c.c.conns[c]; was != idle {
		c.c.conns[c] = idle
		if idle {
			l.idle++
		} else {
			l.idle--
		}
	}
}

// Stats are the listener's figures.
type Stats struct {
	Open      int   `json:"open"`
	Idle      int   `json:"idle"`
	Clients   int   `json:"clients"`   // addresses (IPv6: /64 networks) holding connections
	Accepted  int64 `json:"accepted"`  // connections taken from the operating system, kept or not
	Refused   int64 `json:"refused"`   // connections closed at once for a full limit
	Evicted   int64 `json:"evicted"`   // idle connections closed to make room
	Displaced int64 `json:"displaced"` // busy connections of the client holding the most closed to make room
}

// Stats reads the figures.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.total, Idle: l.idle, Clients: len(l.clients), Accepted: l.accepted.Load(), Refused: l.refused.Load(),
		Evicted: l.evicted.Load(), Displaced: l.displaced.Load()}
}

// OpenFrom is how many connections the client of addr holds.
func (l *Listener) OpenFrom(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cl := l.clients[clientKey(addr)]; cl != nil {
		return len(cl.conns)
	}
	return 0
}

func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(t.IP); ok {
			return ip.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientKey groups an IPv6 address by its /64.
func clientKey(a netip.Addr) string {
	if a.Is6() && !a.IsLoopback() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
