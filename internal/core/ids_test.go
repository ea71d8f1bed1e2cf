package core

import (
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	id := NewID()
	token, hash := NewToken(id)
	gotID, secret, ok := SplitToken(token)
	if !ok || gotID != id || !TokenMatches(secret, hash) {
		t.Fatalf("a fresh token does not split and match: %q", token)
	}
	// Another token for the same record does not match this hash.
	other, _ := NewToken(id)
	_, otherSecret, _ := SplitToken(other)
	if TokenMatches(otherSecret, hash) {
		t.Fatal("a different secret matched")
	}
	for _, bad := range []string{"", id, id + ".", id + ".short", "not-an-id." + secret,
		strings.ToUpper(id) + "x." + secret, id + "." + strings.Repeat("a", 65)} {
		if _, _, ok := SplitToken(bad); ok {
			t.Errorf("SplitToken(%q) accepted", bad)
		}
	}
}

func TestNormalizeAndIDs(t *testing.T) {
	if !ValidID(NewID()) || ValidID("0190") || ValidID(strings.Repeat("x", 36)) || ValidID(strings.ToUpper(NewID())) {
		t.Fatal("ValidID")
	}
	if NormalizeEmail("  Jane.Doe@Example.COM ") != "jane.doe@example.com" {
		t.Fatal("NormalizeEmail")
	}
	// An accent composed or decomposed, in either case, is one login.
	composed, decomposed := "Jos\u00e9@example.com", "JOSE\u0301@example.com"
	if NormalizeEmail(composed) != "jos\u00e9@example.com" || NormalizeEmail(decomposed) != NormalizeEmail(composed) ||
		NormalizeUsername(" Jose\u0301 ") != "jos\u00e9" || Fold("\u00c5ngstr\u00f6m") != Fold("A\u030angstro\u0308m") {
		t.Fatalf("folded forms %q %q", NormalizeEmail(composed), NormalizeEmail(decomposed))
	}
	if a, b := NewSecret("rk_"), NewSecret("rk_"); a == b || !strings.HasPrefix(a, "rk_") || len(a) != 46 {
		t.Fatalf("secrets %q %q", a, b)
	}
}

// An IPv6 client is counted by its /64, so that the addresses of one
// machine are one client; IPv4 and unparsable text by themselves.
func TestClientNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":                "192.0.2.7",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":         "::ffff:192.0.2.7",
		// IPv4 clients behind a NAT64 or a Teredo relay share a /64.
		"64:ff9b::c000:207":   "64:ff9b::c000:207",
		"64:ff9b::c633:6407":  "64:ff9b::c633:6407",
		"2001:0:4136:e378::1": "2001:0:4136:e378::1",
		"not an address":      "not an address",
	} {
		if got := ClientNetwork(addr); got != want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", addr, got, want)
		}
	}
}
