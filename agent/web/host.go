package web

import (
	"net"
	"net/netip"
	"strings"

	"motcua-agent/config"
)

// allowedHosts are the names the agent answers to (lower case): localhost, the listen
// address's host, http.public_url's host and http.allowed_hosts; and this machine's own
// IP addresses. A Host header naming anything else comes from a page that rebound its
// own name to the agent's address (DNS rebinding) and is refused.
func allowedHosts(h config.HTTP) (names, ips map[string]bool) {
	names = map[string]bool{"localhost": true}
	ips = map[string]bool{}
	for _, n := range h.AllowedHosts {
		names[strings.ToLower(strings.Trim(n, "[]"))] = true
	}
	if host, _, err := net.SplitHostPort(h.Listen); err == nil && host != "" {
		names[strings.ToLower(host)] = true
	}
	if u := h.PublicURL; u != "" {
		if _, rest, ok := strings.Cut(u, "://"); ok {
			rest, _, _ = strings.Cut(rest, "/")
			if host, _, err := net.SplitHostPort(rest); err == nil {
				rest = host
			}
			names[strings.ToLower(strings.Trim(rest, "[]"))] = true
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ips[n.IP.String()] = true
			}
		}
	}
	return names, ips
}

// hostAllowed checks a request's Host header (with or without port).
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || s.ownIPs[ip.String()]
	}
	return s.names[strings.TrimSuffix(host, ".")]
}

// officeDevices are the networks of http.office_devices (config check refuses a
// malformed one; here it is skipped).
func officeDevices(h config.HTTP) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range h.OfficeDevices {
		if p, err := config.ParseClientAddress(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// trustedClient says whether a connection comes from this PC (127.0.0.1, ::1, one of
// its own addresses) or from one of the office's devices: those keep a share of the
// connections that a flood from elsewhere cannot take. Other loopback addresses
// (127.0.0.2 …) are not this PC's browser and count as any LAN client.
func (s *Server) trustedClient(a netip.Addr, office []netip.Prefix) bool {
	if a == netip.IPv6Loopback() || a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || s.ownIPs[a.String()] && !a.IsLoopback() {
		return true
	}
	for _, p := range office {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
