package netguard

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func serve(t *testing.T, lim Limits) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := Listen(ln, lim)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second, ConnState: gl.ConnState}
	go srv.Serve(gl)
	t.Cleanup(func() { srv.Close() })
	return gl, ln.Addr().String()
}

// closedByServer says whether the server closed c (EOF within a short wait).
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	b := make([]byte, 4096)
	for {
		_, err := c.Read(b)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		if err != nil {
			return true
		}
	}
}

func waitStats(t *testing.T, gl *Listener, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := gl.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the expected state: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBusyConnectionsCappedIdleOnesGiveWay(t *testing.T) {
	t.Parallel()
	gl, addr := serve(t, Limits{PerAddress: 3, Total: 100})
	// Three half-sent requests fill the address's slots: a fourth connection is refused.
	var busy []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\n"))
		busy = append(busy, c)
	}
	waitStats(t, gl, func(s Stats) bool { return s.Open == 3 })
	extra, _ := net.Dial("tcp", addr)
	defer extra.Close()
	if !closedByServer(extra) {
		t.Fatal("a connection over the per-address cap was kept")
	}
	if s := gl.Stats(); s.Refused != 1 || s.Open != 3 {
		t.Fatalf("stats %+v", s)
	}
	// Once they finish their requests they are idle, and a new connection takes the
	// place of one of them instead of being refused.
	for _, c := range busy {
		c.Write([]byte("Host: x\r\n\r\n"))
	}
	waitStats(t, gl, func(s Stats) bool { return s.Idle == 3 })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if closedByServer(c) {
		t.Fatal("a new connection was refused while idle ones held the slots")
	}
	s := waitStats(t, gl, func(s Stats) bool { return s.Evicted == 1 })
	if s.Open != 3 {
		t.Fatalf("stats after eviction %+v", s)
	}
	evicted := 0
	for _, c := range busy {
		if closedByServer(c) {
			evicted++
		}
	}
	if evicted != 1 {
		t.Fatalf("%d idle connections closed, want 1", evicted)
	}
}

func TestTotalCap(t *testing.T) {
	t.Parallel()
	gl, addr := serve(t, Limits{PerAddress: 10, Total: 2})
	for range 2 {
		c, _ := net.Dial("tcp", addr)
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\n"))
	}
	waitStats(t, gl, func(s Stats) bool { return s.Open == 2 })
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	if !closedByServer(c) {
		t.Fatal("a connection over the total cap was kept")
	}
}
