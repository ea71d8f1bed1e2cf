package sqlstore

import (
	"context"
	"strings"
	"time"

	"roster/internal/core"
	"roster/internal/store"
)

func (q *queries) GetProvider(ctx context.Context) (core.Provider, error) {
	var (
		p       core.Provider
		created dbTime
	)
	err := q.queryRow(ctx, `SELECT id, name, created_at FROM provider`).Scan(&p.ID, &p.Name, &created)
	p.CreatedAt = created.t
	return p, q.wrap(err, "provider")
}

func (q *queries) CreateProvider(ctx context.Context, p core.Provider) error {
	_, err := q.exec(ctx, `INSERT INTO provider (id, name, created_at) VALUES (?, ?, ?)`, p.ID, p.Name, q.t(p.CreatedAt))
	return err
}

const tenantColumns = `id, number, name, email, phone, country_code, lang, custom_id, is_test, status,
	seller_id, password_policy, invite_ttl_seconds, created_at, updated_at, created_by, updated_by`

func scanTenant(row interface{ Scan(...any) error }) (core.Tenant, error) {
	var (
		t                core.Tenant
		ttl              int64
		created, updated dbTime
	)
	err := row.Scan(&t.ID, &t.Number, &t.Name, &t.Email, &t.Phone, &t.CountryCode, &t.Lang, &t.CustomID,
		&t.IsTest, &t.Status, &t.SellerID, &t.PasswordPolicy, &ttl, &created, &updated, &t.CreatedBy, &t.UpdatedBy)
	t.InviteTTL = time.Duration(ttl) * time.Second
	t.CreatedAt, t.UpdatedAt = created.t, updated.t
	return t, err
}

func (q *queries) GetTenant(ctx context.Context, ref store.TenantRef) (core.Tenant, error) {
	where, arg := "id = ?", any(ref.ID)
	if ref.ID == "" {
		where, arg = "number = ?", ref.Number
	}
	t, err := scanTenant(q.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+where, arg))
	return t, q.wrap(err, "tenant")
}

func tenantWhere(f store.TenantFilter) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return "WHERE 1 = 0", nil
		}
		conds = append(conds, "id IN ("+placeholders(len(f.IDs))+")")
		args = append(args, anySlice(f.IDs)...)
	}
	if f.Prefix != "" {
		cond, bounds := prefixRange("name_norm", core.Fold(f.Prefix))
		conds = append(conds, cond)
		args = append(args, bounds...)
	}
	switch f.Deleted {
	case store.ExcludeDeleted:
		conds = append(conds, "status <> 'deleted'")
	case store.OnlyDeleted:
		conds = append(conds, "status = 'deleted'")
	}
	if f.After != "" {
		conds = append(conds, "id > ?")
		args = append(args, f.After)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

func (q *queries) ListTenants(ctx context.Context, f store.TenantFilter) ([]core.Tenant, error) {
	where, args := tenantWhere(f)
	query := `SELECT ` + tenantColumns + ` FROM tenants ` + where + ` ORDER BY id`
	query, args = limitOffset(query, args, f.Limit, f.Offset)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, t)
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) CountTenants(ctx context.Context, f store.TenantFilter) (int, error) {
	f.After = ""
	where, args := tenantWhere(f)
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM tenants `+where, args...).Scan(&n)
	return n, q.wrap(err, "")
}

func limitOffset(query string, args []any, limit, offset int) (string, []any) {
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
		if offset > 0 {
			query += " OFFSET ?"
			args = append(args, offset)
		}
	} else if offset > 0 {
		// Both databases accept a huge LIMIT where OFFSET needs one.
		query += " LIMIT ? OFFSET ?"
		args = append(args, int64(1)<<62, offset)
	}
	return query, args
}

func (q *queries) CreateTenant(ctx context.Context, t *core.Tenant) error {
	err := q.queryRow(ctx, `INSERT INTO tenants (id, name, name_norm, email, phone, country_code, lang, custom_id,
		is_test, status, seller_id, password_policy, invite_ttl_seconds, created_at, updated_at, created_by, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number`,
		t.ID, t.Name, core.Fold(t.Name), t.Email, t.Phone, t.CountryCode, t.Lang, t.CustomID,
		t.IsTest, t.Status, t.SellerID, t.PasswordPolicy, int64(t.InviteTTL/time.Second),
		q.t(t.CreatedAt), q.t(t.UpdatedAt), t.CreatedBy, t.UpdatedBy).Scan(&t.Number)
	return q.wrap(err, "")
}

func (q *queries) UpdateTenant(ctx context.Context, t core.Tenant) error {
	res, err := q.exec(ctx, `UPDATE tenants SET name = ?, name_norm = ?, email = ?, phone = ?, country_code = ?,
		lang = ?, custom_id = ?, is_test = ?, status = ?, seller_id = ?, password_policy = ?, invite_ttl_seconds = ?,
		updated_at = ?, updated_by = ? WHERE id = ?`,
		t.Name, core.Fold(t.Name), t.Email, t.Phone, t.CountryCode, t.Lang, t.CustomID, t.IsTest, t.Status,
		t.SellerID, t.PasswordPolicy, int64(t.InviteTTL/time.Second), q.t(t.UpdatedAt), t.UpdatedBy, t.ID)
	if err != nil {
		return err
	}
	return mustAffect(res, "tenant")
}

func (q *queries) ProductDefaults(ctx context.Context) (map[core.Product]bool, error) {
	return q.products(ctx, `SELECT product, available FROM product_defaults`)
}

func (q *queries) TenantProductOverrides(ctx context.Context, tenantID string) (map[core.Product]bool, error) {
	return q.products(ctx, `SELECT product, available FROM tenant_products WHERE tenant_id = ?`, tenantID)
}

func (q *queries) products(ctx context.Context, query string, args ...any) (map[core.Product]bool, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[core.Product]bool{}
	for rows.Next() {
		var (
			p         core.Product
			available bool
		)
		if err := rows.Scan(&p, &available); err != nil {
			return nil, q.wrap(err, "")
		}
		out[p] = available
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) SetTenantProductOverrides(ctx context.Context, tenantID string, overrides map[core.Product]*bool) error {
	for _, p := range core.Products {
		v, ok := overrides[p]
		if !ok {
			continue
		}
		var err error
		if v == nil {
			_, err = q.exec(ctx, `DELETE FROM tenant_products WHERE tenant_id = ? AND product = ?`, tenantID, p)
		} else {
			_, err = q.exec(ctx, `INSERT INTO tenant_products (tenant_id, product, available) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id, product) DO UPDATE SET available = excluded.available`, tenantID, p, *v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) SetProductDefaults(ctx context.Context, defaults map[core.Product]bool) error {
	for _, p := range core.Products {
		v, ok := defaults[p]
		if !ok {
			continue
		}
		if _, err := q.exec(ctx, `INSERT INTO product_defaults (product, available) VALUES (?, ?)
			ON CONFLICT (product) DO UPDATE SET available = excluded.available`, p, v); err != nil {
			return err
		}
	}
	return nil
}
