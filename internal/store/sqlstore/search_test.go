package sqlstore

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"unicode/utf8"

	"roster/internal/core"
)

func TestArrange(t *testing.T) {
	for n := 0; n < 40; n++ {
		for trial := 0; trial < 20; trial++ {
			users := make([]core.User, n)
			for i := range users {
				users[i].ID = strconv.Itoa(i)
			}
			// A page takes some of the users, in any order.
			order := rand.Perm(n)[:rand.IntN(n+1)]
			arrange(users, order)
			for i, j := range order {
				if users[i].ID != strconv.Itoa(j) {
					t.Fatalf("order %v: position %d holds user %s, want %d", order, i, users[i].ID, j)
				}
			}
		}
	}
}

// prefixEnd bounds a prefix's range with valid UTF-8 (PostgreSQL refuses
// anything else), above every string that starts with the prefix and below
// every other string above it.
func TestPrefixEnd(t *testing.T) {
	for prefix, want := range map[string]string{
		"abc":           "abd",
		"п":             "р", // ends in byte 0xBF: adding one to the byte made invalid UTF-8
		"ÿ":             "Ā",
		"漿":             string(rune('漿' + 1)),
		"a\U0010FFFF":   "b",
		"\U0010FFFF":    "",
		"x\uD7FF":       "x\uE000",
		"":              "",
		"Zoë\U0010FFFF": "Zoì",
	} {
		got, ok := prefixEnd(prefix)
		if got != want || ok != (want != "") || !utf8.ValidString(got) {
			t.Errorf("prefixEnd(%q) = %q, want %q", prefix, got, want)
		}
		if prefix == "" || got == "" {
			continue
		}
		for _, s := range []string{prefix, prefix + "a", prefix + "\U0010FFFF\U0010FFFF", prefix + "漿"} {
			if s >= got {
				t.Errorf("%q starts with %q but is not below the bound %q", s, prefix, got)
			}
		}
	}
}
