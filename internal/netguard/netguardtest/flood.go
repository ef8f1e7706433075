// Package netguardtest floods a server on loopback with idle and slow connections from
// chosen source addresses (127.0.0.2, 127.0.0.3 …), for the tests that show a server
// still answers real requests meanwhile. Test support only.
package netguardtest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"motcua-agent/internal/testkit"
)

// NeedLoopbackAliases skips t where the machine cannot send from 127.0.0.2 (Linux can
// from any 127/8 address; other systems may not).
func NeedLoopbackAliases(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("flood test")
	}
	c, err := net.Dial("tcp", "127.0.0.2:1")
	if c != nil {
		c.Close()
	}
	if err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skip("no 127.0.0.2 on this machine")
	}
}

// Flood is a set of connections held open against a server.
type Flood struct {
	mu     sync.Mutex
	conns  []net.Conn
	stop   chan struct{}
	wg     sync.WaitGroup
	Dialed int // connections the server accepted at the TCP level
}

// Hold opens n connections to target from the local address from, writes first on
// each, then writes drip every interval (nothing when drip is empty) until Stop: an
// idle keep-alive client is a complete request and no drip; a slow one is half a
// request and a drip that never finishes it.
func Hold(target, from string, n int, first, drip []byte, interval time.Duration) *Flood {
	f := &Flood{stop: make(chan struct{})}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // dial in parallel, not all at once
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := d.Dial("tcp", target)
			if err != nil {
				return
			}
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			c.Write(first)
			mu.Lock()
			f.conns = append(f.conns, c)
			f.Dialed++
			mu.Unlock()
			if len(drip) == 0 {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				t := time.NewTicker(interval)
				defer t.Stop()
				for {
					select {
					case <-f.stop:
						return
					case <-t.C:
						c.SetWriteDeadline(time.Now().Add(time.Second))
						if _, err := c.Write(drip); err != nil {
							return
						}
					}
				}
			}()
		}()
	}
	wg.Wait()
	return f
}

// Stop closes every connection.
func (f *Flood) Stop() {
	close(f.stop)
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// OpenAtMost waits up to wait for the server to have closed all but n of the flood's
// connections, and returns how many it still holds.
func (f *Flood) OpenAtMost(n int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for {
		open := f.StillOpen()
		if open <= n || time.Now().After(deadline) {
			return open
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StillOpen counts the flood's connections the server has not closed: each is probed
// with a short read (a closed one answers EOF or a reset at once).
func (f *Flood) StillOpen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	buf := make(chan struct{}, 128)
	for _, c := range f.conns {
		wg.Add(1)
		buf <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-buf }()
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			b := make([]byte, 4096)
			for {
				_, err := c.Read(b)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					mu.Lock()
					n++
					mu.Unlock()
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return n
}

// MemInUse is the heap and stacks in use, after a collection.
func MemInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// WaitAccepted waits up to 10 s for a server to have taken n connections from the
// operating system (accepted reads its count): a dial returns once the kernel has the
// connection, before the server has seen it.
func WaitAccepted(t testing.TB, accepted func() int64, n int) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() bool { return accepted() >= int64(n) },
		"the server to take %d connections (%s taken)", n, func() string { return fmt.Sprint(accepted()) })
}
