package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"motcua-agent/agent/bus"
	"motcua-agent/agent/checkin"
	"motcua-agent/agent/web"
	"motcua-agent/config"
	"motcua-agent/drivers/ptypair"
	"motcua-agent/drivers/scanner"
	"motcua-agent/drivers/serialport/serialporttest"
	"motcua-agent/internal/netguard/netguardtest"
)

// TestAgentAtItsLimitsStillPrintsAndScans runs the demo agent (printer, scanner and
// call display on socat pty pairs), holds its listener at its limits from eighteen LAN
// addresses (event streams with the display token and half-sent requests, over 1,100
// connections) while the process holds more than 1,024 descriptors, and meanwhile
// prints tickets from this PC's kiosk page and re-plugs a scanner: every new device
// descriptor is above select()'s 1,024, where the agent used to panic in
// go.bug.st/serial's FDSet.Add.
func TestAgentAtItsLimitsStillPrintsAndScans(t *testing.T) {
	netguardtest.NeedLoopbackAliases(t)
	pair := ptypair.New(t.TempDir(), "lan-qr")
	if err := pair.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(pair.Stop)
	a, base := startDemoAgent(t, func(c *config.Config) {
		c.Scanners = append(c.Scanners, config.Scanner{Name: "lan-qr", Counter: "quay-2", Port: pair.Device,
			Purpose: config.ScanForCheckin, Suffix: config.SuffixCR, IdleGap: 400 * time.Millisecond, MaxScan: 4096, Baud: 9600})
	})
	scans := a.Bus.Subscribe(64, checkin.Topic)
	defer scans.Close()
	target := strings.TrimPrefix(base, "http://")
	stream := []byte("GET /api/v1/stream?topics=queue,scan HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + a.Tokens["display"] + "\r\n\r\n")
	half := []byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	lim := web.DefaultConnLimits()
	var floods []*netguardtest.Flood
	t.Cleanup(func() {
		for _, f := range floods {
			f.Stop()
		}
	})
	dialed := 0
	for i := range 18 {
		from := fmt.Sprintf("127.0.0.%d", 2+i)
		f := netguardtest.Hold(target, from, lim.PerAddress, stream, nil, 0)
		if i%2 == 1 {
			f = netguardtest.Hold(target, from, lim.PerAddress, half, []byte("X-Slow: 1\r\n"), time.Second)
		}
		floods = append(floods, f)
		dialed += f.Dialed
	}
	// Every connection dialed has been accepted (and kept or closed) before the gaps
	// below 1,024 are filled: the next device opened gets a number above it.
	netguardtest.WaitAccepted(t, func() int64 { return a.Web.Connections().Accepted }, dialed)
	serialporttest.HoldDescriptors(t, 16)
	fds, _ := os.ReadDir("/proc/self/fd")
	held := a.Web.Connections()
	if held.Open > lim.Total || dialed <= 1024 {
		t.Fatalf("dialed %d, held %+v (total %d)", dialed, held, lim.Total)
	}

	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s at the limits: %v (held %+v)", path, err, a.Web.Connections())
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/healthz"); code != 200 {
		t.Fatalf("healthz at the limits: %d", code)
	}
	// This PC's kiosk page takes tickets; each opens the printer's line anew.
	for i := range 3 {
		serialporttest.HoldDescriptors(t, 16) // the agent's own churn (streams, the record) leaves gaps
		if fd := nextDescriptor(t); fd <= serialporttest.SelectSetSize {
			t.Fatalf("the printer's line would get descriptor %d: the test needs one above %d", fd, serialporttest.SelectSetSize)
		}
		req, _ := http.NewRequest("POST", base+"/api/v1/tickets", strings.NewReader(`{"service":"A"}`))
		req.Header.Set("Authorization", "Bearer "+a.Tokens["kiosk"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Printed bool   `json:"printed"`
			Notice  string `json:"notice"`
		}
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != 201 || !r.Printed {
			t.Fatalf("ticket %d at the limits: %d printed=%v %q", i+1, resp.StatusCode, r.Printed, r.Notice)
		}
		waitFile(t, filepath.Join(a.Config.DataDir, "printer-sim", fmt.Sprintf("ticket-%04d.png", i+1)))
	}
	// The scanner is pulled out and plugged back: its port is opened again, above 1,024.
	pair.Stop()
	serialporttest.HoldDescriptors(t, 16)
	if err := pair.Start(); err != nil {
		t.Fatal(err)
	}
	sim, err := scanner.OpenSimulator(pair)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan checkin.Scan, 16)
	go scans.Each(ctx, func(m bus.Message) {
		if s, ok := m.Public.(checkin.Scan); ok && s.Scanner == "lan-qr" {
			got <- s
		}
	})
	// Until the reader has reopened the port, what the simulator writes may be lost:
	// scan again every second until one arrives, then once more.
	for n := 0; n < 2; {
		if err := sim.Scan("H40.22-230701-000"+fmt.Sprint(n+1), []byte("\r")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			n++
		case <-time.After(time.Second):
		case <-ctx.Done():
			t.Fatalf("no scan from the re-plugged scanner within 30 s (health %+v)", a.Health.List())
		}
	}
	if code := get("/healthz"); code != 200 {
		t.Fatalf("healthz after: %d", code)
	}
	after := a.Web.Connections()
	t.Logf("limits: %d connections dialed from 18 addresses, agent held %d of %d (refused %d, evicted %d, displaced %d); "+
		"the process held %d descriptors; 3 tickets printed and a scanner re-plugged meanwhile",
		dialed, held.Open, lim.Total, after.Refused, after.Evicted, after.Displaced, len(fds))
}

// nextDescriptor is the number the process's next open file gets.
func nextDescriptor(t *testing.T) int {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return serialporttest.Descriptor(f)
}
