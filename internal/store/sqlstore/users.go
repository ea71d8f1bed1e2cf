package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

const userColumns = `u.id, u.number, u.external_id, u.email, u.username, u.name, u.first_name, u.last_name,
	u.phone, u.lang, u.type, u.status, u.email_confirmed, u.two_fa, u.auth_types, u.security_realm, u.builtin,
	u.attributes, u.created_at, u.updated_at, u.created_by, u.updated_by, u.first_login_at, u.last_login_at,
	u.deleted_at, EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id)`

// userScan holds what a user row is read into besides the user itself.
type userScan struct {
	authTypes, attrs                           string
	created, updated, first, last, deletedTime dbTime
}

// userScanner reads user rows through one set of destinations, made once:
// a row then costs its own strings, not also a new argument list and
// scratch space (a page of 100 users allocated 40 KB of those alone).
type userScanner struct {
	u    core.User
	t    userScan
	dest []any
}

func newUserScanner() *userScanner {
	s := &userScanner{}
	u, t := &s.u, &s.t
	s.dest = []any{&u.ID, &u.Number, &u.ExternalID, &u.Email, &u.Username, &u.Name, &u.FirstName, &u.LastName,
		&u.Phone, &u.Lang, &u.Type, &u.Status, &u.EmailConfirmed, &u.TwoFA, &t.authTypes, &u.SecurityRealm, &u.Builtin,
		&t.attrs, &t.created, &t.updated, &u.CreatedBy, &u.UpdatedBy, &t.first, &t.last, &t.deletedTime, &u.HasPassword}
	return s
}

// scan reads one row of userColumns. The user it returns is the scanner's
// own and changes with the next row: callers copy what they keep.
func (s *userScanner) scan(row interface{ Scan(...any) error }) (*core.User, error) {
	s.u, s.t = core.User{}, userScan{}
	if err := row.Scan(s.dest...); err != nil {
		return nil, err
	}
	u, t := &s.u, &s.t
	u.AuthTypes = splitList(t.authTypes)
	if t.attrs != "" && t.attrs != "null" && t.attrs != "{}" {
		// Numbers as written (json.Number), not rounded to a float64.
		dec := json.NewDecoder(strings.NewReader(t.attrs))
		dec.UseNumber()
		if err := dec.Decode(&u.Attributes); err != nil {
			return nil, fmt.Errorf("user %s attributes: %w", u.ID, err)
		}
	}
	u.CreatedAt, u.UpdatedAt = t.created.t, t.updated.t
	u.FirstLoginAt, u.LastLoginAt, u.DeletedAt = t.first.ptr(), t.last.ptr(), t.deletedTime.ptr()
	return u, nil
}

// scanUsers reads every row; capacity is a guess of how many.
func (q *queries) scanUsers(rows *sql.Rows, capacity int) ([]core.User, error) {
	defer rows.Close()
	users := make([]core.User, 0, capacity)
	sc := newUserScanner()
	for rows.Next() {
		u, err := sc.scan(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		users = append(users, *u)
	}
	return users, q.wrap(rows.Err(), "")
}

// userLookup is the query that finds one user.
func userLookup(ref store.UserRef) (string, any, bool) {
	var (
		where string
		arg   any
	)
	switch {
	case ref.ID != "":
		where, arg = "u.id = ?", ref.ID
	case ref.Number != 0:
		where, arg = "u.number = ?", ref.Number
	case ref.Username != "":
		where, arg = "u.username_norm = ? AND u.username_norm <> '' AND u.status <> 'deleted'", core.NormalizeUsername(ref.Username)
	case ref.Email != "":
		where, arg = "u.email_norm = ? AND u.email_norm <> '' AND u.status <> 'deleted'", core.NormalizeEmail(ref.Email)
	default:
		return "", nil, false
	}
	return `SELECT ` + userColumns + ` FROM users u WHERE ` + where, arg, true
}

func (q *queries) GetUser(ctx context.Context, ref store.UserRef) (core.User, error) {
	query, arg, ok := userLookup(ref)
	if !ok {
		return core.User{}, core.Errorf(core.CodeNotFound, "user not found")
	}
	u, err := newUserScanner().scan(q.queryRow(ctx, query, arg))
	if err != nil {
		return core.User{}, q.wrap(err, "user")
	}
	users := []core.User{*u}
	if err := q.loadRelations(ctx, users); err != nil {
		return core.User{}, err
	}
	return users[0], nil
}

var userSortColumns = map[string]string{
	"":           "u.id",
	"id":         "u.id",
	"email":      "u.email_norm",
	"name":       "u.name_norm",
	"created_at": "u.created_at",
	"updated_at": "u.updated_at",
	"status":     "u.status",
}

// userQuery builds the FROM and WHERE of a user listing. A filter on a
// single tenant drives the scan from the memberships table, whose primary
// key (tenant_id, user_id) then yields users already in id order.
func (q *queries) userQuery(f store.UserFilter) (from string, where []string, args []any) {
	from = "users u"
	if f.TenantIDs != nil && len(f.TenantIDs) == 0 {
		return from, []string{"1 = 0"}, nil
	}
	if len(f.TenantIDs) == 1 {
		from = "memberships m JOIN users u ON u.id = m.user_id"
		where = append(where, "m.tenant_id = ?")
		args = append(args, f.TenantIDs[0])
	} else if len(f.TenantIDs) > 1 {
		where = append(where, "u.id IN (SELECT user_id FROM memberships WHERE tenant_id IN ("+placeholders(len(f.TenantIDs))+"))")
		args = append(args, anySlice(f.TenantIDs)...)
	}
	if f.Prefix != "" {
		p := core.Fold(f.Prefix)
		email, emailArgs := prefixRange("u.email_norm", p)
		username, usernameArgs := prefixRange("u.username_norm", p)
		name, nameArgs := prefixRange("u.name_norm", p)
		// The <> '' terms let SQLite use the partial unique indexes.
		where = append(where, `((`+email+` AND u.email_norm <> '')
			OR (`+username+` AND u.username_norm <> '')
			OR (`+name+`))`)
		args = append(append(append(args, emailArgs...), usernameArgs...), nameArgs...)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "u.status IN ("+placeholders(len(f.Statuses))+")")
		args = append(args, anySlice(f.Statuses)...)
	}
	switch f.Deleted {
	case store.ExcludeDeleted:
		where = append(where, "u.status <> 'deleted'")
	case store.OnlyDeleted:
		where = append(where, "u.status = 'deleted'")
	}
	if f.WithEmail {
		where = append(where, "u.email_norm <> ''")
	}
	if len(f.Roles) > 0 {
		if len(f.TenantIDs) > 0 {
			where = append(where, "u.id IN (SELECT user_id FROM membership_roles WHERE role IN ("+placeholders(len(f.Roles))+
				") AND tenant_id IN ("+placeholders(len(f.TenantIDs))+"))")
			args = append(args, anySlice(f.Roles)...)
			args = append(args, anySlice(f.TenantIDs)...)
		} else {
			where = append(where, "u.id IN (SELECT user_id FROM membership_roles WHERE role IN ("+placeholders(len(f.Roles))+
				") UNION SELECT user_id FROM user_provider_roles WHERE role IN ("+placeholders(len(f.Roles))+"))")
			args = append(args, anySlice(f.Roles)...)
			args = append(args, anySlice(f.Roles)...)
		}
	}
	if len(f.ResourceGroupIDs) > 0 {
		where = append(where, "u.id IN (SELECT user_id FROM resource_group_members WHERE group_id IN ("+
			placeholders(len(f.ResourceGroupIDs))+"))")
		args = append(args, anySlice(f.ResourceGroupIDs)...)
	}
	if len(f.InvitationStatuses) > 0 {
		// Only the newest invitation of each user tells its status (the
		// later id breaks a tie), among those the reader may see.
		scope := func(alias string) (string, []any) {
			if f.InvitationTenantIDs == nil {
				return "", nil
			}
			if len(f.InvitationTenantIDs) == 0 {
				return " AND 1 = 0", nil
			}
			return " AND " + alias + ".tenant_id IN (" + placeholders(len(f.InvitationTenantIDs)) + ")", anySlice(f.InvitationTenantIDs)
		}
		outer, outerArgs := scope("i")
		inner, innerArgs := scope("i2")
		var alts []string
		var altArgs []any
		for _, s := range f.InvitationStatuses {
			switch s {
			case core.InvitationPending:
				alts = append(alts, "(i.state = 'pending' AND i.expires_at > ?)")
				altArgs = append(altArgs, q.t(f.InvitationsAt))
			case core.InvitationExpired:
				alts = append(alts, "(i.state = 'pending' AND i.expires_at <= ?)")
				altArgs = append(altArgs, q.t(f.InvitationsAt))
			case core.InvitationAccepted, core.InvitationRevoked:
				alts = append(alts, "i.state = ?")
				altArgs = append(altArgs, string(s))
			}
		}
		if len(alts) == 0 {
			alts = []string{"1 = 0"}
		}
		where = append(where, `u.id IN (SELECT i.user_id FROM invitations i WHERE 1 = 1`+outer+`
			AND NOT EXISTS (SELECT 1 FROM invitations i2 WHERE i2.user_id = i.user_id`+inner+`
				AND (i2.created_at > i.created_at OR (i2.created_at = i.created_at AND i2.id > i.id)))
			AND (`+strings.Join(alts, " OR ")+`))`)
		args = append(append(append(args, outerArgs...), innerArgs...), altArgs...)
	}
	return from, where, args
}

// userList is the query of a user listing.
func (q *queries) userList(f store.UserFilter) (string, []any, error) {
	from, where, args := q.userQuery(f)
	sortCol, ok := userSortColumns[f.Sort.Field]
	if !ok {
		return "", nil, core.FieldInvalid("sort", "invalid", "unknown sort field "+f.Sort.Field)
	}
	idCol := "u.id"
	if len(f.TenantIDs) == 1 {
		idCol = "m.user_id" // same value, but names the index the scan follows
		if sortCol == "u.id" {
			sortCol = idCol
		}
	}
	if f.After != "" {
		where = append(where, idCol+" > ?")
		args = append(args, f.After)
	}
	query := `SELECT ` + userColumns + ` FROM ` + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	dir := ""
	if f.Sort.Desc {
		dir = " DESC"
	}
	query += " ORDER BY " + sortCol + dir
	if sortCol != idCol {
		query += ", " + idCol + dir
	}
	query, args = limitOffset(query, args, f.Limit, f.Offset)
	return query, args, nil
}

func (q *queries) ListUsers(ctx context.Context, f store.UserFilter) ([]core.User, error) {
	if searchOrder(f) {
		return q.searchUsers(ctx, f)
	}
	query, args, err := q.userList(f)
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	users, err := q.scanUsers(rows, min(max(f.Limit, 16), 1024))
	if err != nil {
		return nil, err
	}
	if err := q.loadRelations(ctx, users); err != nil {
		return nil, err
	}
	return users, nil
}

func (q *queries) MatchUsers(ctx context.Context, k store.UserKeys) ([]core.User, error) {
	query, args := matchUsersQuery(k)
	if query == "" {
		return nil, nil
	}
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	users, err := q.scanUsers(rows, 16)
	if err != nil {
		return nil, err
	}
	// A user found through two of its keys comes once per key.
	seen := make(map[string]bool, len(users))
	users = slices.DeleteFunc(users, func(u core.User) bool {
		dup := seen[u.ID]
		seen[u.ID] = true
		return dup
	})
	// An import decides with them who may change the user, and keeps the
	// roles a line leaves out.
	if err := q.loadRelations(ctx, users); err != nil {
		return nil, err
	}
	return users, nil
}

// matchUsersQuery looks each kind of key up on its own index, joined by
// UNION ALL. One SELECT with the four IN lists joined by OR read the whole
// table on PostgreSQL during a bulk import, when statistics lag behind the
// table's growth (136 ms per batch at 180,000 users, and rising).
func matchUsersQuery(k store.UserKeys) (string, []any) {
	var (
		branches []string
		args     []any
	)
	add := func(cond string, vals []string, norm func(string) string) {
		var vs []any
		for _, v := range vals {
			if v = norm(v); v != "" {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			branches = append(branches, `SELECT `+userColumns+` FROM users u WHERE `+cond+" IN ("+placeholders(len(vs))+")")
			args = append(args, vs...)
		}
	}
	same := func(s string) string { return s }
	add("u.id", k.IDs, same)
	add("u.external_id <> '' AND u.external_id", k.ExternalIDs, same)
	add("u.status <> 'deleted' AND u.email_norm <> '' AND u.email_norm", k.Emails, core.NormalizeEmail)
	add("u.status <> 'deleted' AND u.username_norm <> '' AND u.username_norm", k.Usernames, core.NormalizeUsername)
	return strings.Join(branches, " UNION ALL "), args
}

func (q *queries) CountUsers(ctx context.Context, f store.UserFilter) (int, error) {
	f.After = ""
	from, where, args := q.userQuery(f)
	query := `SELECT COUNT(*) FROM ` + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	err := q.queryRow(ctx, query, args...).Scan(&n)
	return n, q.wrap(err, "")
}

// loadRelations fills provider roles and memberships (with roles and
// resource groups) of users, in four queries whatever the page size.
func (q *queries) loadRelations(ctx context.Context, users []core.User) error {
	if len(users) == 0 {
		return nil
	}
	index := make(map[string]int, len(users))
	ids := make([]any, len(users))
	for i, u := range users {
		index[u.ID] = i
		ids[i] = u.ID
	}
	in := "(" + placeholders(len(ids)) + ")"

	rows, err := q.query(ctx, `SELECT user_id, role FROM user_provider_roles WHERE user_id IN `+in+` ORDER BY role`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var userID, role string
		if err := rows.Scan(&userID, &role); err != nil {
			rows.Close()
			return q.wrap(err, "")
		}
		u := &users[index[userID]]
		u.ProviderRoles = append(u.ProviderRoles, role)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return q.wrap(err, "")
	}

	type key struct{ user, tenant string }
	memberAt := map[key]int{}
	rows, err = q.query(ctx, `SELECT m.user_id, m.tenant_id, t.number, t.name, t.status, m.created_at
		FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id IN `+in+` ORDER BY t.number`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			m       core.Membership
			created dbTime
		)
		if err := rows.Scan(&m.UserID, &m.TenantID, &m.TenantNumber, &m.TenantName, &m.TenantStatus, &created); err != nil {
			rows.Close()
			return q.wrap(err, "")
		}
		m.CreatedAt = created.t
		u := &users[index[m.UserID]]
		memberAt[key{m.UserID, m.TenantID}] = len(u.Memberships)
		u.Memberships = append(u.Memberships, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return q.wrap(err, "")
	}
	if len(memberAt) == 0 {
		return nil
	}

	rows, err = q.query(ctx, `SELECT user_id, tenant_id, role FROM membership_roles WHERE user_id IN `+in+` ORDER BY role`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var userID, tenantID, role string
		if err := rows.Scan(&userID, &tenantID, &role); err != nil {
			rows.Close()
			return q.wrap(err, "")
		}
		if at, ok := memberAt[key{userID, tenantID}]; ok {
			m := &users[index[userID]].Memberships[at]
			m.Roles = append(m.Roles, role)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return q.wrap(err, "")
	}

	rows, err = q.query(ctx, `SELECT gm.user_id, g.tenant_id, g.id FROM resource_group_members gm
		JOIN resource_groups g ON g.id = gm.group_id WHERE gm.user_id IN `+in+` ORDER BY g.id`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var userID, tenantID, groupID string
		if err := rows.Scan(&userID, &tenantID, &groupID); err != nil {
			return q.wrap(err, "")
		}
		if at, ok := memberAt[key{userID, tenantID}]; ok {
			m := &users[index[userID]].Memberships[at]
			m.ResourceGroupIDs = append(m.ResourceGroupIDs, groupID)
		}
	}
	return q.wrap(rows.Err(), "")
}

func encodeAttributes(attrs map[string]any) (string, error) {
	if len(attrs) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return "", core.FieldInvalid("attributes", "invalid", "cannot be stored: "+err.Error())
	}
	return string(b), nil
}

// checkUserUnique reports every identifier of u that another live user
// holds, in a fixed order: a client hears of all its clashes at once, and
// alike from every backend (they check their indexes in different orders).
// The unique indexes still decide under concurrency. across also checks
// an email against the usernames and an email-shaped username against
// the emails (both are typed at one login prompt), as the migrations'
// login triggers do; only after a write failed, since before it this
// cannot tell a string new to u, which the triggers check, from one it
// already held when they came.
func (q *queries) checkUserUnique(ctx context.Context, u core.User, across bool) error {
	email, username := core.NormalizeEmail(u.Email), core.NormalizeUsername(u.Username)
	if (email == "" && username == "") || u.Status == core.UserDeleted {
		return nil
	}
	emailAcross, usernameAcross := email, username
	if !across || !strings.Contains(username, "@") {
		usernameAcross = ""
	}
	if !across {
		emailAcross = ""
	}
	var emailTaken, usernameTaken bool
	err := q.queryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM users WHERE email_norm = ? AND email_norm <> '' AND status <> 'deleted' AND id <> ?)
		OR EXISTS (SELECT 1 FROM users WHERE username_norm = ? AND username_norm <> '' AND status <> 'deleted' AND id <> ?),
		EXISTS (SELECT 1 FROM users WHERE username_norm = ? AND username_norm <> '' AND status <> 'deleted' AND id <> ?)
		OR EXISTS (SELECT 1 FROM users WHERE email_norm = ? AND email_norm <> '' AND status <> 'deleted' AND id <> ?)`,
		email, u.ID, emailAcross, u.ID, username, u.ID, usernameAcross, u.ID).Scan(&emailTaken, &usernameTaken)
	if err != nil {
		return q.wrap(err, "")
	}
	ce := &core.Error{Code: core.CodeConflict}
	if emailTaken && email != "" {
		ce.Fields = append(ce.Fields, core.FieldError{Field: "email", Code: "taken", Message: "is already taken"})
	}
	if usernameTaken && username != "" {
		ce.Fields = append(ce.Fields, core.FieldError{Field: "username", Code: "taken", Message: "is already taken"})
	}
	if len(ce.Fields) == 0 {
		return nil
	}
	names := make([]string, len(ce.Fields))
	for i, f := range ce.Fields {
		names[i] = f.Field
	}
	ce.Message = strings.Join(names, " and ") + " already taken"
	return ce
}

// userInsertColumns are the columns a new user row is written with,
// besides its number; appendUserRow gives their values.
const userInsertColumns = `id, external_id, email, email_norm, username, username_norm, name, name_norm, first_name,
	last_name, phone, lang, type, status, email_confirmed, two_fa, auth_types, security_realm, builtin, attributes,
	created_at, updated_at, created_by, updated_by, first_login_at, last_login_at, deleted_at`

const userInsertWidth = 27

// appendUserRow appends the values of userInsertColumns for u, preceded by
// its number when withNumber.
func (q *queries) appendUserRow(args []any, u *core.User, withNumber bool) ([]any, error) {
	attrs, err := encodeAttributes(u.Attributes)
	if err != nil {
		return args, err
	}
	if withNumber {
		args = append(args, u.Number)
	}
	return append(args, u.ID, u.ExternalID, u.Email, core.NormalizeEmail(u.Email), u.Username,
		core.NormalizeUsername(u.Username), u.Name, core.Fold(u.Name), u.FirstName, u.LastName, u.Phone, u.Lang,
		u.Type, u.Status, u.EmailConfirmed, u.TwoFA, joinList(u.AuthTypes), u.SecurityRealm, u.Builtin, attrs,
		q.t(u.CreatedAt), q.t(u.UpdatedAt), u.CreatedBy, u.UpdatedBy, q.timeOrNil(u.FirstLoginAt),
		q.timeOrNil(u.LastLoginAt), q.timeOrNil(u.DeletedAt)), nil
}

func (q *queries) CreateUser(ctx context.Context, u *core.User) error {
	grouped := q.pending != nil
	defer q.holdPending()()
	explicit := u.Number != 0
	args, err := q.appendUserRow(make([]any, 0, userInsertWidth+1), u, explicit)
	if err != nil {
		return err
	}
	if q.d.AbortsOnError {
		if err := q.checkUserUnique(ctx, *u, false); err != nil {
			return err
		}
	}
	cols := userInsertColumns
	if explicit {
		cols = "number, " + cols
	}
	insert := `INSERT INTO users (` + cols + `) VALUES (` + placeholders(len(args)) + `)`
	if q.d.NumberIsRowID {
		// An exec is cheaper than a query with RETURNING, which an import of
		// a million users felt.
		var res sql.Result
		if res, err = q.exec(ctx, insert, args...); err == nil {
			u.Number, err = res.LastInsertId()
		}
	} else {
		err = q.wrap(q.queryRow(ctx, insert+` RETURNING number`, args...).Scan(&u.Number), "")
	}
	if err != nil {
		return q.uniqueDetail(ctx, q.wrap(err, ""), *u)
	}
	if q.d.ForUpdate != "" || grouped {
		q.created = append(q.created, u.ID)
	}
	if explicit && q.d.SyncSequence != nil {
		_, err = q.exec(ctx, q.d.SyncSequence("users"))
	}
	return err
}

func (q *queries) UpdateUser(ctx context.Context, u core.User) error {
	attrs, err := encodeAttributes(u.Attributes)
	if err != nil {
		return err
	}
	if q.d.AbortsOnError {
		if err := q.checkUserUnique(ctx, u, false); err != nil {
			return err
		}
	}
	res, err := q.exec(ctx, `UPDATE users SET external_id = ?, email = ?, email_norm = ?, username = ?,
		username_norm = ?, name = ?, name_norm = ?, first_name = ?, last_name = ?, phone = ?, lang = ?, type = ?,
		status = ?, email_confirmed = ?, two_fa = ?, auth_types = ?, security_realm = ?, builtin = ?,
		attributes = ?, updated_at = ?, updated_by = ?, first_login_at = ?, last_login_at = ?, deleted_at = ?
		WHERE id = ?`,
		u.ExternalID, u.Email, core.NormalizeEmail(u.Email), u.Username, core.NormalizeUsername(u.Username), u.Name,
		core.Fold(u.Name), u.FirstName, u.LastName, u.Phone, u.Lang, u.Type, u.Status, u.EmailConfirmed,
		u.TwoFA, joinList(u.AuthTypes), u.SecurityRealm, u.Builtin, attrs, q.t(u.UpdatedAt), u.UpdatedBy,
		q.timeOrNil(u.FirstLoginAt), q.timeOrNil(u.LastLoginAt), q.timeOrNil(u.DeletedAt), u.ID)
	if err != nil {
		return q.uniqueDetail(ctx, err, u)
	}
	return mustAffect(res, "user")
}

// uniqueDetail replaces a uniqueness violation on a database that survives
// one (SQLite) by the full list of u's clashes, as checkUserUnique gives
// it beforehand on a database that does not (PostgreSQL).
func (q *queries) uniqueDetail(ctx context.Context, err error, u core.User) error {
	if q.d.AbortsOnError || core.ErrorCode(err) != core.CodeConflict {
		return err
	}
	if detail := q.checkUserUnique(ctx, u, true); detail != nil {
		return detail
	}
	return err
}

func (q *queries) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET last_login_at = ?, first_login_at = COALESCE(first_login_at, ?) WHERE id = ?`,
		q.t(at), q.t(at), userID)
	if err != nil {
		return err
	}
	return mustAffect(res, "user")
}

func (q *queries) LockUsers(ctx context.Context, ids []string) error {
	return q.lockRows(ctx, "users", ids)
}

func (q *queries) LockTenant(ctx context.Context, id string) error {
	return q.lockRows(ctx, "tenants", []string{id})
}

func (q *queries) LockResourceGroup(ctx context.Context, id string) error {
	return q.lockRows(ctx, "resource_groups", []string{id})
}

// lockRows takes the row locks of a table's rows, by id.
func (q *queries) lockRows(ctx context.Context, table string, ids []string) error {
	if q.d.ForUpdate == "" || len(ids) == 0 {
		return nil
	}
	// In id order, so that two calls locking overlapping sets take their
	// common rows in the same order. A group commit's transaction may
	// still hold several callers' locks, taken one call after another, and
	// meet another node's in a cycle: PostgreSQL breaks it (after its
	// deadlock_timeout) and the group's transactions run again alone.
	args := make([]any, len(ids))
	for i, id := range slices.Sorted(slices.Values(ids)) {
		args[i] = id
	}
	rows, err := q.query(ctx, `SELECT id FROM `+table+` WHERE id IN (`+placeholders(len(args))+`) ORDER BY id`+q.d.ForUpdate, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	err = rows.Err()
	rows.Close()
	return q.wrap(err, "")
}

// lockUser holds one user for a change to what it may access (see
// LockUsers): a change to the user's row takes the same lock by itself.
// A missing user is passed over: the write that follows says so, as
// without the lock.
func (q *queries) lockUser(ctx context.Context, userID string) error {
	if slices.Contains(q.created, userID) {
		return nil
	}
	return q.LockUsers(ctx, []string{userID})
}

func (q *queries) SetProviderRoles(ctx context.Context, userID string, roles []string) error {
	if w := q.bufferFor(userID, "roles"); w != nil {
		w.addProviderRoles(userID, roles) // a new user's first roles replace none
		return nil
	}
	if err := q.lockUser(ctx, userID); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM user_provider_roles WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, r := range core.NormalizeRoles(roles) {
		if _, err := q.exec(ctx, `INSERT INTO user_provider_roles (user_id, role) VALUES (?, ?)`, userID, r); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) PutMembership(ctx context.Context, m core.Membership) error {
	if w := q.bufferFor(m.UserID, "membership of "+m.TenantID); w != nil {
		// A new user's first membership of a tenant is new, with no
		// roles to replace.
		w.addMembership(m.TenantID, m.UserID, q.t(m.CreatedAt), m.Roles)
		return nil
	}
	if err := q.lockUser(ctx, m.UserID); err != nil {
		return err
	}
	res, err := q.exec(ctx, `INSERT INTO memberships (tenant_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, user_id) DO NOTHING`, m.TenantID, m.UserID, q.t(m.CreatedAt))
	if err != nil {
		return err
	}
	// A membership that was there keeps roles to replace; a new one has none.
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE tenant_id = ? AND user_id = ?`, m.TenantID, m.UserID); err != nil {
			return err
		}
	}
	for _, r := range core.NormalizeRoles(m.Roles) {
		if _, err := q.exec(ctx, `INSERT INTO membership_roles (tenant_id, user_id, role) VALUES (?, ?, ?)`,
			m.TenantID, m.UserID, r); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) DeleteMembership(ctx context.Context, tenantID, userID string) error {
	if err := q.lockUser(ctx, userID); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM resource_group_members WHERE user_id = ?
		AND group_id IN (SELECT id FROM resource_groups WHERE tenant_id = ?)`, userID, tenantID); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return err
	}
	res, err := q.exec(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	if err != nil {
		return err
	}
	return mustAffect(res, "membership")
}

func (q *queries) GetCredential(ctx context.Context, userID string) (core.Credential, error) {
	var (
		c       core.Credential
		updated dbTime
	)
	err := q.queryRow(ctx, `SELECT user_id, hash, updated_at FROM credentials WHERE user_id = ?`, userID).
		Scan(&c.UserID, &c.Hash, &updated)
	c.UpdatedAt = updated.t
	return c, q.wrap(err, "credential")
}

func (q *queries) PutCredential(ctx context.Context, c core.Credential) error {
	if w := q.bufferFor(c.UserID, "credential"); w != nil {
		w.addCredential(c.UserID, c.Hash, q.t(c.UpdatedAt)) // a new user's first credential replaces none
		return nil
	}
	_, err := q.exec(ctx, `INSERT INTO credentials (user_id, hash, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		c.UserID, c.Hash, q.t(c.UpdatedAt))
	return err
}
