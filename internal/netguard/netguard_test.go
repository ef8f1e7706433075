package netguard

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"motcua-agent/internal/netguard/netguardtest"
	"motcua-agent/internal/testkit"
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
	var s Stats
	testkit.Eventually(t, 5*time.Second, func() bool {
		s = gl.Stats()
		return ok(s)
	}, "the listener's stats to reach the expected state (%s)", func() string { return fmt.Sprintf("%+v", s) })
	return s
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

// dialFrom opens a connection from a loopback alias and sends half a request, so the
// server holds it busy.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("GET / HTTP/1.1\r\n"))
	return c
}

// TestTrustedShareAndTheFlooderPays: a flood from one address takes only the untrusted
// share; the trusted address (the PC itself) still gets in, at the flooder's cost, and
// so does a new LAN client, because the client holding the most gives way.
func TestTrustedShareAndTheFlooderPays(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	t.Parallel()
	own := netip.MustParseAddr("127.0.0.1")
	gl, addr := serve(t, Limits{PerAddress: 10, Total: 8, Reserved: 4, Trusted: func(a netip.Addr) bool { return a == own }})
	var flood []net.Conn
	for range 6 {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	waitStats(t, gl, func(s Stats) bool { return s.Refused == 2 && s.Open == 4 })
	// The office's own PC fills the reserve, then takes one more slot from the flooder.
	for range 5 {
		dialFrom(t, "127.0.0.1", addr)
	}
	s := waitStats(t, gl, func(s Stats) bool { return s.Open == 8 && s.Displaced == 1 })
	if n := gl.OpenFrom(own); n != 5 {
		t.Fatalf("the trusted address holds %d connections, want 5 (%+v)", n, s)
	}
	// A new LAN client gets in on one of the flooder's slots; its second connection is
	// refused, as it would then hold as many as the flooder.
	lan := netip.MustParseAddr("127.0.0.3")
	dialFrom(t, "127.0.0.3", addr)
	dialFrom(t, "127.0.0.3", addr)
	waitStats(t, gl, func(s Stats) bool { return gl.OpenFrom(lan) == 1 })
	s = waitStats(t, gl, func(s Stats) bool { return s.Displaced == 2 })
	if n := gl.OpenFrom(netip.MustParseAddr("127.0.0.2")); n != 2 || gl.OpenFrom(lan) != 1 || gl.OpenFrom(own) != 5 {
		t.Fatalf("flooder %d, lan %d, own %d (%+v)", n, gl.OpenFrom(lan), gl.OpenFrom(own), s)
	}
	closed := 0
	for _, c := range flood {
		if closedByServer(c) {
			closed++
		}
	}
	if closed != 4 { // 2 refused at once, 2 displaced
		t.Fatalf("%d of the flooder's connections closed, want 4", closed)
	}
}

func TestFitToDescriptorBudget(t *testing.T) {
	t.Parallel()
	lim := Limits{PerAddress: 64, Total: 1024, Reserved: 256}
	cases := []struct {
		budget, keep int
		want         Limits
	}{
		{0, 128, lim},     // no limit known
		{20000, 128, lim}, // plenty
		{1024, 128, Limits{PerAddress: 64, Total: 896, Reserved: 256}}, // the usual soft limit
		{100, 128, Limits{PerAddress: 16, Total: 16, Reserved: 4}},     // a starved process still serves someone
	}
	for _, c := range cases {
		if got := lim.FitTo(c.budget, c.keep); got.PerAddress != c.want.PerAddress || got.Total != c.want.Total || got.Reserved != c.want.Reserved {
			t.Errorf("FitTo(%d, %d) = %+v, want %+v", c.budget, c.keep, got, c.want)
		}
	}
	if b := DescriptorBudget(); runtime.GOOS == "linux" && b < 64 {
		t.Errorf("descriptor budget %d", b)
	}
}

// TestIPv6ClientIsItsSlash64: a LAN machine can take any address of its /64, so the
// whole /64 is one client; loopback and IPv4 (mapped or not) are their address.
func TestIPv6ClientIsItsSlash64(t *testing.T) {
	t.Parallel()
	key := func(s string) string { return clientKey(addrOf(&net.TCPAddr{IP: net.ParseIP(s)})) }
	if key("2001:db8:1:2::1") != key("2001:db8:1:2:ffff::9") {
		t.Error("two addresses of one /64 are two clients")
	}
	if key("2001:db8:1:2::1") == key("2001:db8:1:3::1") {
		t.Error("two /64s are one client")
	}
	if key("::ffff:192.168.1.5") != "192.168.1.5" || key("::1") != "::1" {
		t.Errorf("mapped %q, loopback %q", key("::ffff:192.168.1.5"), key("::1"))
	}
}
