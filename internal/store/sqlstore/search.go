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
	prefix := strings.ToLower(strings.TrimSpace(f.Prefix))
	end := prefixEnd(prefix)
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
	// Candidates from every stream, each user once, with its search key.
	var (
		found []core.User
		keys  []string
		index = map[string]int{}
	)
	for {
		// The merge is complete up to the smallest position a stream
		// reached without running out.
		bound := position{done: true}
		for i, col := range searchColumns {
			if pos[i].done {
				continue
			}
			rows, err := q.searchColumn(ctx, f, col, prefix, end, pos[i].key, pos[i].id, chunk)
			if err != nil {
				return nil, err
			}
			for _, u := range rows {
				if _, seen := index[u.ID]; seen {
					continue
				}
				if k, ok := core.UserSearchKey(u, prefix); ok && less(after.key, after.id, k, u.ID) {
					index[u.ID] = len(found)
					found, keys = append(found, u), append(keys, k)
				}
			}
			if len(rows) < chunk {
				pos[i].done = true
				continue
			}
			last := rows[len(rows)-1]
			pos[i].key, pos[i].id = columnValue(last, col), last.ID
			if bound.done || less(pos[i].key, pos[i].id, bound.key, bound.id) {
				bound = position{key: pos[i].key, id: pos[i].id}
			}
		}
		var order []int
		for i, u := range found {
			if bound.done || !less(bound.key, bound.id, keys[i], u.ID) {
				order = append(order, i)
			}
		}
		if len(order) >= limit || bound.done {
			slices.SortFunc(order, func(a, b int) int {
				if c := strings.Compare(keys[a], keys[b]); c != 0 {
					return c
				}
				return strings.Compare(found[a].ID, found[b].ID)
			})
			page := make([]core.User, 0, min(len(order), limit))
			for _, i := range order[:min(len(order), limit)] {
				page = append(page, found[i])
			}
			if err := q.loadRelations(ctx, page); err != nil {
				return nil, err
			}
			return page, nil
		}
	}
}

// searchColumnQuery is the query of one stream of a search.
func (q *queries) searchColumnQuery(f store.UserFilter, col, prefix, end, key, id string, limit int) (string, []any) {
	g := f
	g.Prefix, g.After, g.Limit, g.Offset = "", "", 0, 0
	from, where, args := q.userQuery(g)
	where = append(where, col+" >= ?", col+" < ?", col+" <> ''")
	args = append(args, prefix, end)
	if key != "" || id != "" {
		where = append(where, "("+col+" > ? OR ("+col+" = ? AND u.id > ?))")
		args = append(args, key, key, id)
	}
	return `SELECT ` + userColumns + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + col + `, u.id LIMIT ?`, append(args, limit)
}

// searchColumn reads up to limit users whose col starts with the prefix,
// after (key, id) in (col, id) order, with the listing's other filters.
func (q *queries) searchColumn(ctx context.Context, f store.UserFilter, col, prefix, end, key, id string, limit int) ([]core.User, error) {
	query, args := q.searchColumnQuery(f, col, prefix, end, key, id, limit)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return q.scanUsers(rows, limit)
}

func columnValue(u core.User, col string) string {
	switch col {
	case "u.email_norm":
		return core.NormalizeEmail(u.Email)
	case "u.username_norm":
		return core.NormalizeUsername(u.Username)
	}
	return strings.ToLower(u.Name)
}
