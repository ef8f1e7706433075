package web

import (
	"net"
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
