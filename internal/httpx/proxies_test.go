package httpx

import (
	"net/http"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	tp, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,::1,, 2001:db8::/32,::ffff:198.51.100.1")
	if err != nil || len(tp) != 5 {
		t.Fatalf("%v, %v", tp, err)
	}
	mapped, err := ParseTrustedProxies("::ffff:10.0.0.0/104")
	if err != nil || len(mapped) != 1 || mapped[0].String() != "10.0.0.0/8" {
		t.Errorf("an IPv4-mapped prefix: %v, %v", mapped, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1:80", "fe80::1%eth0", "::ffff:0.0.0.0/80"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if tp, err := ParseTrustedProxies(""); err != nil || len(tp) != 0 {
		t.Errorf("empty: %v, %v", tp, err)
	}
}

func TestTrustedProxiesClient(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, ::1, 198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy in between", "203.0.113.5:4711", nil, "203.0.113.5"},
		{"an untrusted peer's header is ignored", "203.0.113.5:4711", []string{"192.0.2.1"}, "203.0.113.5"},
		{"one trusted proxy", "10.1.2.3:4711", []string{"192.0.2.1"}, "192.0.2.1"},
		{"the client's own entries prove nothing", "10.1.2.3:4711", []string{"1.1.1.1, 192.0.2.1"}, "192.0.2.1"},
		{"a chain of trusted proxies", "10.1.2.3:4711", []string{"192.0.2.1, 10.9.9.9", "10.8.8.8"}, "192.0.2.1"},
		{"only proxies", "10.1.2.3:4711", []string{"10.9.9.9"}, "10.9.9.9"},
		{"no header from a proxy", "10.1.2.3:4711", nil, "10.1.2.3"},
		{"a hop with a port", "[::1]:4711", []string{"[2001:db8::7]:5000"}, "2001:db8::7"},
		{"an IPv4-mapped peer", "[::ffff:198.51.100.1]:4711", []string{"192.0.2.9:80"}, "192.0.2.9"},
		{"garbage stops at the proxy that wrote it", "10.1.2.3:4711", []string{"192.0.2.1, not-an-address, 10.9.9.9"}, "10.9.9.9"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := tp.Client(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Without trusted proxies nobody's header counts.
	r := &http.Request{RemoteAddr: "10.1.2.3:4711", Header: http.Header{"X-Forwarded-For": {"192.0.2.1"}}}
	if got := TrustedProxies(nil).Client(r); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: %q", got)
	}
}
