package core

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new UUIDv7: unique, and ordered by creation time, so that
// keyset pagination by id follows creation order.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s is a UUID in canonical form: hyphenated, in
// lower case, as roster writes ids. PostgreSQL's uuid type would match an
// id in upper case and SQLite's text would not; neither is given one.
func ValidID(s string) bool {
	if len(s) != 36 || strings.ToLower(s) != s {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NewSecret returns prefix followed by 32 random bytes in URL-safe base64:
// for API keys, session and invitation tokens.
func NewSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret is how roster stores high-entropy secrets (keys and tokens): a
// SHA-256 digest is enough when the secret itself has 256 bits of entropy,
// and it lets the database look a secret up by its hash.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewToken makes a single-use token for the record id: "<id>.<secret>".
// The record is found by its id (time-ordered, so its index takes new rows
// at its end) and the secret is checked against the stored hash; no index
// of random hashes is needed. The token carries 256 random bits.
func NewToken(id string) (token, hash string) {
	secret := NewSecret("")
	return id + "." + secret, HashSecret(secret)
}

// SplitToken returns the record id of a token and whether the secret
// matches hash, in constant time. A malformed token matches nothing.
func SplitToken(token string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(token, ".")
	if !ok || !ValidID(id) || len(secret) < 32 || len(secret) > 64 {
		return "", "", false
	}
	return id, secret, true
}

// TokenMatches compares a token's secret with the stored hash in
// constant time.
func TokenMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}

// Clock tells the time; tests use a controllable one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time in UTC, at microsecond precision, which both
// databases store without loss.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ManualClock is a clock that only moves when told to.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock starts a manual clock at t.
func NewManualClock(t time.Time) *ManualClock {
	return &ManualClock{now: t.UTC().Truncate(time.Microsecond)}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ClientNetwork is what a client's address is counted by in throttles and
// rate limits: an IPv4 address itself, an IPv6 address its /64, which one
// machine is usually given whole (walking through it would otherwise
// escape every limit). Addresses that carry an IPv4 client in their last
// bits (NAT64, Teredo) are kept whole: their /64 is shared by many
// clients. Anything else is itself.
func ClientNetwork(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return addr
	}
	for _, shared := range sharedPrefixes {
		if shared.Contains(ip) {
			return addr
		}
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// sharedPrefixes hold IPv4 clients behind IPv6 translators and tunnels.
var sharedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64, well-known
	netip.MustParsePrefix("64:ff9b:1::/48"), // NAT64, local use
	netip.MustParsePrefix("2001::/32"),      // Teredo
}
