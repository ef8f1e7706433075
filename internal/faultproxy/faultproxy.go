// Package faultproxy is an HTTP proxy for tests that stands between agents and the hub
// and misbehaves on purpose: it drops connections before the hub sees a request or
// after the hub has committed it, delays, duplicates and reorders requests, and can
// play a hub that is down. It only ever forwards to the one target it was given.
package faultproxy

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"sync/atomic"
	"time"
)

// Faults are probabilities per request, checked in this order.
type Faults struct {
	DropBefore float64       // close the client connection; the hub never sees the request
	Late       float64       // close the client connection; deliver the request after the next one (reordering)
	DropAfter  float64       // forward, let the hub commit, then close the client connection without the answer
	Duplicate  float64       // forward twice; the client gets the second answer
	Delay      float64       // wait up to MaxDelay before forwarding
	MaxDelay   time.Duration //
}

// Stats count what the proxy did.
type Stats struct {
	Requests, DroppedBefore, Late, DroppedAfter, Duplicated, Delayed, RefusedDown atomic.Int64
}

// Proxy is a running fault-injecting proxy on 127.0.0.1.
type Proxy struct {
	URL    string
	Stats  Stats
	target string
	server *httptest.Server
	client *http.Client
	down   atomic.Bool

	mu     gosync.Mutex
	faults Faults
	rng    *rand.Rand
	held   []*held
}

type held struct {
	method, uri string
	header      http.Header
	body        []byte
}

// Start starts a proxy to target (http://127.0.0.1:PORT) with a seeded random source.
func Start(target string, faults Faults, seed uint64) *Proxy {
	p := &Proxy{target: target, faults: faults, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		client: &http.Client{Timeout: 30 * time.Second}}
	p.server = httptest.NewServer(p)
	p.URL = p.server.URL
	return p
}

// Close delivers held requests and stops the proxy.
func (p *Proxy) Close() {
	p.deliverHeld()
	p.server.CloseClientConnections()
	p.server.Close()
}

// SetDown makes the proxy refuse every request (the hub looks unreachable) or pass again.
func (p *Proxy) SetDown(down bool) { p.down.Store(down) }

// SetFaults changes the fault probabilities.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

func (p *Proxy) roll() (Faults, float64, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	x := p.rng.Float64()
	var d time.Duration
	if p.faults.MaxDelay > 0 {
		d = time.Duration(p.rng.Int64N(int64(p.faults.MaxDelay)))
	}
	return p.faults, x, d
}

func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// ServeHTTP applies at most one fault to the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.Stats.Requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		hangUp(w)
		return
	}
	if p.down.Load() {
		p.Stats.RefusedDown.Add(1)
		hangUp(w)
		return
	}
	req := &held{method: r.Method, uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
	f, x, delay := p.roll()
	switch {
	case x < f.DropBefore:
		p.Stats.DroppedBefore.Add(1)
		hangUp(w)
		return
	case x < f.DropBefore+f.Late:
		p.Stats.Late.Add(1)
		p.mu.Lock()
		p.held = append(p.held, req)
		p.mu.Unlock()
		hangUp(w)
		return
	}
	x -= f.DropBefore + f.Late
	if x < f.DropAfter {
		p.Stats.DroppedAfter.Add(1)
		p.forward(req)
		p.deliverHeld()
		hangUp(w)
		return
	}
	x -= f.DropAfter
	if x < f.Duplicate {
		p.Stats.Duplicated.Add(1)
		p.forward(req)
	} else if x-f.Duplicate < f.Delay {
		p.Stats.Delayed.Add(1)
		time.Sleep(delay)
	}
	status, header, respBody, err := p.forward(req)
	p.deliverHeld()
	if err != nil {
		hangUp(w)
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	w.Write(respBody)
}

// deliverHeld sends the requests held back for reordering; their answers go nowhere.
func (p *Proxy) deliverHeld() {
	p.mu.Lock()
	list := p.held
	p.held = nil
	p.mu.Unlock()
	for _, h := range list {
		p.forward(h)
	}
}

func (p *Proxy) forward(h *held) (int, http.Header, []byte, error) {
	out, err := http.NewRequest(h.method, p.target+h.uri, bytes.NewReader(h.body))
	if err != nil {
		return 0, nil, nil, err
	}
	out.Header = h.header.Clone()
	resp, err := p.client.Do(out)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}
