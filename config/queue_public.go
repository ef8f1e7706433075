package config

import (
	"net"
	"net/url"
)

// Warnings are things in a valid config that will still go wrong in the office: today,
// a ticket QR pointing at an address no citizen's phone can open. `config check`
// prints them and the agent logs them at start.
func (c *Config) Warnings() []Problem {
	var out []Problem
	if c.Queue.Enabled {
		if msg := publicURLProblem(c.HTTP.PublicURL); msg != "" {
			out = append(out, Problem{Path: "http.public_url", Msg: msg})
		}
	}
	return out
}

// publicURLProblem says why a ticket's QR could not be opened from a citizen's phone
// ("" when it can).
func publicURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "not an http(s) address: the QR printed on every ticket points here"
	}
	host := u.Hostname()
	if host == "localhost" {
		return "is a loopback address (" + host + "): the QR on every ticket points here and no citizen's phone can open it; set the address phones on the site's Wi-Fi reach, e.g. http://192.168.1.10:8606"
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return "is a loopback or unspecified address (" + host + "): the QR on every ticket points here and no citizen's phone can open it; set the address phones on the site's Wi-Fi reach, e.g. http://192.168.1.10:8606"
	}
	return ""
}
