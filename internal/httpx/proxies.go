package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies in front of roster whose
// X-Forwarded-For header names the client. Behind a proxy every request
// comes from the proxy's address, so per-address login throttling would
// throttle everyone together, and logs would name only the proxy.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7, ::1").
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var t TrustedProxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			if a := p.Addr(); a.Is4In6() {
				// Peers are compared unmapped: so is an IPv4-mapped prefix.
				if p.Bits() < 96 {
					return nil, fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses", f)
				}
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", f)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q has a zone, which no peer address is compared with", f)
		}
		a = a.Unmap()
		t = append(t, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address of the client a request comes from: the
// peer, or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one (the header is read from the right: the
// entries to the left of the last untrusted one are the client's own to
// write, and prove nothing). An entry that is not an address stops the
// walk at the proxy that wrote it.
func (t TrustedProxies) Client(r *http.Request) string {
	peer := ClientIP(r)
	if len(t) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !t.trusts(addr) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := addr
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = hop
		if !t.trusts(hop) {
			break
		}
	}
	return client.Unmap().String()
}

// parseHop reads one X-Forwarded-For entry: an address, perhaps with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		return netip.ParseAddr(host)
	}
	return netip.ParseAddr(strings.Trim(s, "[]"))
}
