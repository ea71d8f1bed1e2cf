package sqlstore

import (
	"context"
	"slices"
	"strings"

	"roster/internal/core"
	"roster/internal/store"
)

// searchOrder reports whether a listing is a prefix search in match order:
// a prefix, and no sort asked for (an explicit sort keeps the plain query,
// whose pages go by offset).
func searchOrder(f store.UserFilter) bool {
	return strings.TrimSpace(f.Prefix) != "" && (f.Sort.Field == "" || f.Sort.Field == "id") && !f.Sort.Desc && f.Offset == 0
}

// searchColumns are the three columns a prefix matches, each with an index
// in which its values lie in order.
var searchColumns = []string{"u.email_norm", "u.username_norm", "u.name_norm"}

// searchUsers answers a prefix search without ever sorting all its matches:
// a broad prefix over a million users matches a hundred thousand, and
// gathering them to sort by id took seconds. Each column's index yields its
// matches in (value, id) order; the three streams are merged on each user's
// search key (core.UserSearchKey), and a stream is read further only when
// the merge needs it. Every user appears once, and pages continue from the
// (key, id) of the last user shown.
func (q *queries) searchUsers(ctx context.Context, f store.UserFilter) ([]core.User, error) {
	prefix := core.Fold(f.Prefix)
	limit := f.Limit
	if limit <= 0 {
		limit = 1 << 30
	}
	chunk := min(limit, 500)
	type position struct {
		key, id string
		done    bool
	}
	after := position{key: f.AfterKey, id: f.After}
	pos := make([]position, len(searchColumns))
	for i := range pos {
		pos[i] = after
	}
	less := func(aKey, aID, bKey, bID string) bool { return aKey < bKey || (aKey == bKey && aID < bID) }
	// Candidates from every stream, each user once: users holds them as
	// read, found their search keys, sorted at the end.
	type candidate struct {
		key string
		at  int // in users
	}
	var (
		users = make([]core.User, 0, min(limit, 100)+1)
		found = make([]candidate, 0, cap(users))
		seen  = map[string]struct{}{}
		sc    = newUserScanner()
	)
	for {
		// The merge is complete up to the smallest position a stream
		// reached without running out.
		bound := position{done: true}
		for i, col := range searchColumns {
			if pos[i].done {
				continue
			}
			var last searchedUser
			n, err := q.searchColumn(ctx, f, col, prefix, pos[i].key, pos[i].id, chunk, sc, func(u *core.User) {
				last = searchedUser{u.ID, u.Email, u.Username, u.Name}
				if _, dup := seen[u.ID]; dup {
					return
				}
				if k, ok := core.UserSearchKey(*u, prefix); ok && less(after.key, after.id, k, u.ID) {
					seen[u.ID] = struct{}{}
					users = append(users, *u)
					found = append(found, candidate{key: k, at: len(users) - 1})
				}
			})
			if err != nil {
				return nil, err
			}
			if n < chunk {
				pos[i].done = true
				continue
			}
			pos[i].key, pos[i].id = last.value(col), last.id
			if bound.done || less(pos[i].key, pos[i].id, bound.key, bound.id) {
				bound = position{key: pos[i].key, id: pos[i].id}
			}
		}
		// Candidates up to the bound are final; past it, a stream not yet
		// read further may still have users that sort before them.
		ready := 0
		for _, c := range found {
			if bound.done || !less(bound.key, bound.id, c.key, users[c.at].ID) {
				ready++
			}
		}
		if ready >= limit || bound.done {
			slices.SortFunc(found, func(a, b candidate) int {
				if c := strings.Compare(a.key, b.key); c != 0 {
					return c
				}
				return strings.Compare(users[a.at].ID, users[b.at].ID)
			})
			order := make([]int, min(ready, limit))
			for i := range order {
				order[i] = found[i].at
			}
			arrange(users, order)
			page := users[:len(order)]
			if err := q.loadRelations(ctx, page); err != nil {
				return nil, err
			}
			return page, nil
		}
	}
}

// arrange moves users[order[i]] to users[i] for every i, in place; the
// users past len(order) are left in some order. Pages are a few hundred
// users, each 400 bytes: moving them costs less than a second slice.
func arrange(users []core.User, order []int) {
	for i, j := range order {
		// Where the user first at j is now: moved on by earlier swaps.
		for j < i {
			j = order[j]
		}
		users[i], users[j] = users[j], users[i]
	}
}

// searchColumnQuery is the query of one stream of a search.
func (q *queries) searchColumnQuery(f store.UserFilter, col, prefix, key, id string, limit int) (string, []any) {
	g := f
	g.Prefix, g.After, g.Limit, g.Offset = "", "", 0, 0
	from, where, args := q.userQuery(g)
	cond, bounds := prefixRange(col, prefix)
	where = append(where, cond, col+" <> ''")
	args = append(args, bounds...)
	if key != "" || id != "" {
		where = append(where, "("+col+" > ? OR ("+col+" = ? AND u.id > ?))")
		args = append(args, key, key, id)
	}
	return `SELECT ` + userColumns + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + col + `, u.id LIMIT ?`, append(args, limit)
}

// searchColumn reads up to limit users whose col starts with the prefix,
// after (key, id) in (col, id) order, with the listing's other filters,
// and hands each to use (which must copy what it keeps); it returns how
// many rows it read.
func (q *queries) searchColumn(ctx context.Context, f store.UserFilter, col, prefix, key, id string, limit int,
	sc *userScanner, use func(*core.User)) (int, error) {
	query, args := q.searchColumnQuery(f, col, prefix, key, id, limit)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		u, err := sc.scan(rows)
		if err != nil {
			return n, q.wrap(err, "")
		}
		n++
		use(u)
	}
	return n, q.wrap(rows.Err(), "")
}

// searchedUser is what a stream's position is made of: the last user it
// read.
type searchedUser struct{ id, email, username, name string }

// value is the user's value in a stream's column, as the index holds it.
func (u searchedUser) value(col string) string {
	switch col {
	case "u.email_norm":
		return core.NormalizeEmail(u.email)
	case "u.username_norm":
		return core.NormalizeUsername(u.username)
	}
	return core.Fold(u.name)
}
