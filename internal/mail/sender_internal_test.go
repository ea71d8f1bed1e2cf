package mail

import "testing"

// Only a domain outside ASCII is converted; IP literals, underscores and
// double hyphens pass as they are, and a local part is never touched.
func TestASCIIDomain(t *testing.T) {
	for in, want := range map[string]string{
		"bob@exämple.de":             "bob@xn--exmple-cua.de",
		"jörg@exämple.de":            "jörg@xn--exmple-cua.de",
		"user@[192.0.2.1]":           "user@[192.0.2.1]",
		"ops@mail_relay.example.com": "ops@mail_relay.example.com",
		"x@ab--cd.example.com":       "x@ab--cd.example.com",
		`"a@b"@Example.COM`:          `"a@b"@Example.COM`,
	} {
		if got, err := asciiDomain(in); err != nil || got != want {
			t.Errorf("asciiDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
