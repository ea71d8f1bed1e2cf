package sqlstore

import (
	"math/rand/v2"
	"strconv"
	"testing"

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
