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

	var providerRoles, memberships, memberRoles, credentials []any
	for _, nu := range users {
		u := nu.User
		for _, r := range core.NormalizeRoles(u.ProviderRoles) {
			providerRoles = append(providerRoles, u.ID, r)
		}
		for _, m := range u.Memberships {
			memberships = append(memberships, m.TenantID, u.ID, q.t(m.CreatedAt))
			for _, r := range core.NormalizeRoles(m.Roles) {
				memberRoles = append(memberRoles, m.TenantID, u.ID, r)
			}
		}
		if nu.PasswordHash != "" {
			credentials = append(credentials, u.ID, nu.PasswordHash, q.t(u.UpdatedAt))
		}
	}
	inserts := []struct {
		table, cols string
		width       int
		args        []any
	}{
		{"user_provider_roles", "user_id, role", 2, providerRoles},
		{"memberships", "tenant_id, user_id, created_at", 3, memberships},
		{"membership_roles", "tenant_id, user_id, role", 3, memberRoles},
		{"credentials", "user_id, hash, updated_at", 3, credentials},
	}
	for _, in := range inserts {
		if err := q.insertRows(ctx, in.table, in.cols, in.width, in.args, "", "", nil); err != nil {
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
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), bulkRows)]
		rest = rest[len(chunk):]
		var n int
		if err := q.queryRow(ctx, `SELECT count(*) FROM users WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...).Scan(&n); err != nil {
			return q.wrap(err, "")
		}
		if n != len(chunk) {
			return core.Errorf(core.CodeNotFound, "user not found")
		}
	}
	if err := q.insertRows(ctx, "users", "number, "+userInsertColumns, userInsertWidth+1, rows, userUpdateSet, "", nil); err != nil {
		return err
	}

	// Provider roles and the roles of the memberships given are replaced;
	// memberships are added where missing, as PutMembership does.
	var (
		providerRoles, memberships, memberRoles, credentials []any
		membersByTenant                                      = map[string][]any{}
		tenantOrder                                          []string
	)
	for _, nu := range users {
		u := nu.User
		for _, r := range core.NormalizeRoles(u.ProviderRoles) {
			providerRoles = append(providerRoles, u.ID, r)
		}
		for _, m := range u.Memberships {
			memberships = append(memberships, m.TenantID, u.ID, q.t(m.CreatedAt))
			if _, seen := membersByTenant[m.TenantID]; !seen {
				tenantOrder = append(tenantOrder, m.TenantID)
			}
			membersByTenant[m.TenantID] = append(membersByTenant[m.TenantID], u.ID)
			for _, r := range core.NormalizeRoles(m.Roles) {
				memberRoles = append(memberRoles, m.TenantID, u.ID, r)
			}
		}
		if nu.PasswordHash != "" {
			credentials = append(credentials, u.ID, nu.PasswordHash, q.t(u.UpdatedAt))
		}
	}
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), bulkRows)]
		rest = rest[len(chunk):]
		if _, err := q.exec(ctx, `DELETE FROM user_provider_roles WHERE user_id IN (`+placeholders(len(chunk))+`)`, chunk...); err != nil {
			return err
		}
	}
	// By tenant, so that every value is compared with a column of its own
	// type (PostgreSQL will not compare a row of text with one of uuid).
	for _, tenantID := range tenantOrder {
		for rest := membersByTenant[tenantID]; len(rest) > 0; {
			chunk := rest[:min(len(rest), bulkRows)]
			rest = rest[len(chunk):]
			args := append([]any{tenantID}, chunk...)
			if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE tenant_id = ? AND user_id IN (`+
				placeholders(len(chunk))+`)`, args...); err != nil {
				return err
			}
		}
	}
	writes := []struct {
		table, cols string
		width       int
		args        []any
		onConflict  string
	}{
		{"user_provider_roles", "user_id, role", 2, providerRoles, ""},
		{"memberships", "tenant_id, user_id, created_at", 3, memberships, " ON CONFLICT (tenant_id, user_id) DO NOTHING"},
		{"membership_roles", "tenant_id, user_id, role", 3, memberRoles, ""},
		{"credentials", "user_id, hash, updated_at", 3, credentials,
			" ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at"},
	}
	for _, w := range writes {
		if err := q.insertRows(ctx, w.table, w.cols, w.width, w.args, w.onConflict, "", nil); err != nil {
			return err
		}
	}
	return nil
}
