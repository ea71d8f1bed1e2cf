package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"roster/internal/core"
	"roster/internal/store"
)

// bulkRows is the most rows one multi-row INSERT carries: a user row has
// 28 values, so 2,800 parameters, well under either database's limit.
const bulkRows = 100

// bulkSizes splits n rows into statements of bulkRows rows and then of
// falling powers of two, so that only a few statement texts ever exist and
// each is prepared once.
func bulkSizes(n int) []int {
	var sizes []int
	for ; n >= bulkRows; n -= bulkRows {
		sizes = append(sizes, bulkRows)
	}
	for size := 64; n > 0; size /= 2 {
		if n >= size {
			sizes = append(sizes, size)
			n -= size
		}
	}
	return sizes
}

// insertRows inserts the rows held flat in args, width values each, with
// multi-row INSERT statements ending in onConflict (which may be empty).
// With a returning clause, each reads every row it gives back.
func (q *queries) insertRows(ctx context.Context, table, cols string, width int, args []any, onConflict string,
	returning string, each func(*sql.Rows) error) error {
	row := "(" + placeholders(width) + ")"
	for _, n := range bulkSizes(len(args) / width) {
		chunk := args[:n*width]
		args = args[n*width:]
		query := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.Repeat(row+", ", n-1) + row + onConflict
		if returning == "" {
			if _, err := q.exec(ctx, query, chunk...); err != nil {
				return err
			}
			continue
		}
		rows, err := q.query(ctx, query+" RETURNING "+returning, chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := each(rows); err != nil {
				rows.Close()
				return q.wrap(err, "")
			}
		}
		if err := rows.Close(); err != nil {
			return q.wrap(err, "")
		}
		if err := rows.Err(); err != nil {
			return q.wrap(err, "")
		}
	}
	return nil
}

// CreateUsers implements store.Writer. Uniqueness is left to the indexes,
// even where a failed statement ends the transaction (PostgreSQL): the
// caller has matched the users beforehand and retries one at a time on a
// conflict, so the per-user checks of CreateUser would only cost a round
// trip each.
func (q *queries) CreateUsers(ctx context.Context, users []store.NewUser) error {
	byID := make(map[string]*core.User, len(users))
	readNumber := func(rows *sql.Rows) error {
		var (
			id     string
			number int64
		)
		if err := rows.Scan(&id, &number); err != nil {
			return err
		}
		if u := byID[id]; u != nil {
			u.Number = number
		}
		return nil
	}
	// Users with a number of their own go in first, so that the numbers
	// given to the rest follow theirs, as they would one at a time.
	for _, explicit := range []bool{true, false} {
		cols, width := userInsertColumns, userInsertWidth
		if explicit {
			cols, width = "number, "+cols, width+1
		}
		var args []any
		for _, nu := range users {
			if (nu.User.Number != 0) != explicit {
				continue
			}
			byID[nu.User.ID] = nu.User
			var err error
			if args, err = q.appendUserRow(args, nu.User, explicit); err != nil {
				return err
			}
		}
		if len(args) == 0 {
			continue
		}
		if err := q.insertRows(ctx, "users", cols, width, args, "", "id, number", readNumber); err != nil {
			return err
		}
		if explicit && q.d.SyncSequence != nil {
			if _, err := q.exec(ctx, q.d.SyncSequence("users")); err != nil {
				return err
			}
		}
	}

	return q.insertRelated(ctx, q.relatedOf(users), false)
}

// related is what goes with a batch of users besides their rows, flat,
// ready for insertRows.
type related struct {
	providerRoles, memberships, memberRoles, credentials []any
	// membersByTenant holds the ids of users given a membership, by
	// tenant; tenants lists its keys in the order first met.
	membersByTenant map[string][]any
	tenants         []string
}

func (q *queries) relatedOf(users []store.NewUser) related {
	r := related{membersByTenant: map[string][]any{}}
	for _, nu := range users {
		u := nu.User
		r.addProviderRoles(u.ID, u.ProviderRoles)
		for _, m := range u.Memberships {
			r.addMembership(m.TenantID, u.ID, q.t(m.CreatedAt), m.Roles)
			if _, seen := r.membersByTenant[m.TenantID]; !seen {
				r.tenants = append(r.tenants, m.TenantID)
			}
			r.membersByTenant[m.TenantID] = append(r.membersByTenant[m.TenantID], u.ID)
		}
		if nu.PasswordHash != "" {
			r.addCredential(u.ID, nu.PasswordHash, q.t(u.UpdatedAt))
		}
	}
	return r
}

// addProviderRoles, addMembership and addCredential add one user's rows,
// times already encoded for the database.
func (r *related) addProviderRoles(userID string, roles []string) {
	for _, role := range core.NormalizeRoles(roles) {
		r.providerRoles = append(r.providerRoles, userID, role)
	}
}

func (r *related) addMembership(tenantID, userID string, createdAt any, roles []string) {
	r.memberships = append(r.memberships, tenantID, userID, createdAt)
	for _, role := range core.NormalizeRoles(roles) {
		r.memberRoles = append(r.memberRoles, tenantID, userID, role)
	}
}

func (r *related) addCredential(userID, hash string, updatedAt any) {
	r.credentials = append(r.credentials, userID, hash, updatedAt)
}

// insertRelated writes a batch's roles, memberships and credentials. Over
// existing users (replacing), a membership already there is kept and a
// credential is replaced; the caller has deleted the roles to replace.
func (q *queries) insertRelated(ctx context.Context, r related, replacing bool) error {
	membershipConflict, credentialConflict := "", ""
	if replacing {
		membershipConflict = " ON CONFLICT (tenant_id, user_id) DO NOTHING"
		credentialConflict = " ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at"
	}
	writes := []struct {
		table, cols string
		width       int
		args        []any
		onConflict  string
	}{
		{"user_provider_roles", "user_id, role", 2, r.providerRoles, ""},
		{"memberships", "tenant_id, user_id, created_at", 3, r.memberships, membershipConflict},
		{"membership_roles", "tenant_id, user_id, role", 3, r.memberRoles, ""},
		{"credentials", "user_id, hash, updated_at", 3, r.credentials, credentialConflict},
	}
	for _, w := range writes {
		if err := q.insertRows(ctx, w.table, w.cols, w.width, w.args, w.onConflict, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// inChunks calls fn with successive pieces of values, bulkRows at most.
func inChunks(values []any, fn func(chunk []any) error) error {
	for len(values) > 0 {
		chunk := values[:min(len(values), bulkRows)]
		values = values[len(chunk):]
		if err := fn(chunk); err != nil {
			return err
		}
	}
	return nil
}

// userUpdateSet is what UpdateUser changes: every column but the user's
// identity and creation.
var userUpdateSet = func() string {
	var set []string
	for _, col := range strings.Split(userInsertColumns, ",") {
		col = strings.TrimSpace(col)
		if col != "id" && col != "created_at" && col != "created_by" {
			set = append(set, col+" = excluded."+col)
		}
	}
	return " ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
}()

// UpdateUsers implements store.Writer. Each user's row is written as an
// INSERT that turns into an update on its id (so that the database infers
// every value's type from the column, as it cannot in UPDATE ... FROM
// VALUES), after checking, in the same transaction, that every user
// exists: the insert must never add one. The row carries the user's own
// number, so that neither database draws a new one from its sequence for
// an insert that becomes an update.
func (q *queries) UpdateUsers(ctx context.Context, users []store.NewUser) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]any, len(users))
	var rows []any
	for i, nu := range users {
		ids[i] = nu.User.ID
		var err error
		if rows, err = q.appendUserRow(rows, nu.User, true); err != nil {
			return err
		}
	}
	err := inChunks(ids, func(chunk []any) error {
		var n int
		if err := q.queryRow(ctx, `SELECT count(*) FROM users WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...).Scan(&n); err != nil {
			return q.wrap(err, "")
		}
		if n != len(chunk) {
			return core.Errorf(core.CodeNotFound, "user not found")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := q.insertRows(ctx, "users", "number, "+userInsertColumns, userInsertWidth+1, rows, userUpdateSet, "", nil); err != nil {
		return err
	}

	// Provider roles and the roles of the memberships given are replaced;
	// memberships are added where missing, as PutMembership does.
	rel := q.relatedOf(users)
	err = inChunks(ids, func(chunk []any) error {
		_, err := q.exec(ctx, `DELETE FROM user_provider_roles WHERE user_id IN (`+placeholders(len(chunk))+`)`, chunk...)
		return err
	})
	if err != nil {
		return err
	}
	// By tenant, so that every value is compared with a column of its own
	// type (PostgreSQL will not compare a row of text with one of uuid).
	for _, tenantID := range rel.tenants {
		err := inChunks(rel.membersByTenant[tenantID], func(chunk []any) error {
			_, err := q.exec(ctx, `DELETE FROM membership_roles WHERE tenant_id = ? AND user_id IN (`+
				placeholders(len(chunk))+`)`, append([]any{tenantID}, chunk...)...)
			return err
		})
		if err != nil {
			return err
		}
	}
	return q.insertRelated(ctx, rel, true)
}
