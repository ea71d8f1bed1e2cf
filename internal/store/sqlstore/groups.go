package sqlstore

import (
	"context"
	"time"

	"roster/internal/core"
)

// groupColumns count the members the group's member listing shows: a
// deleted user keeps its group rows, and is not counted.
const groupColumns = `g.id, g.tenant_id, g.name, g.description, g.created_at, g.updated_at,
	(SELECT COUNT(*) FROM resource_group_members gm JOIN users u ON u.id = gm.user_id
		WHERE gm.group_id = g.id AND u.status <> 'deleted')`

func scanGroup(row interface{ Scan(...any) error }) (core.ResourceGroup, error) {
	var (
		g                core.ResourceGroup
		created, updated dbTime
	)
	err := row.Scan(&g.ID, &g.TenantID, &g.Name, &g.Description, &created, &updated, &g.MemberCount)
	g.CreatedAt, g.UpdatedAt = created.t, updated.t
	return g, err
}

func (q *queries) GetResourceGroup(ctx context.Context, id string) (core.ResourceGroup, error) {
	g, err := scanGroup(q.queryRow(ctx, `SELECT `+groupColumns+` FROM resource_groups g WHERE g.id = ?`, id))
	return g, q.wrap(err, "resource group")
}

func (q *queries) ListResourceGroups(ctx context.Context, tenantID string) ([]core.ResourceGroup, error) {
	rows, err := q.query(ctx, `SELECT `+groupColumns+` FROM resource_groups g WHERE g.tenant_id = ? ORDER BY g.id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []core.ResourceGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, g)
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) ListResourceGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	// As groupColumns counts them: a deleted user's rows stay, unlisted.
	rows, err := q.query(ctx, `SELECT gm.user_id FROM resource_group_members gm JOIN users u ON u.id = gm.user_id
		WHERE gm.group_id = ? AND u.status <> 'deleted' ORDER BY gm.user_id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, q.wrap(err, "")
		}
		out = append(out, id)
	}
	return out, q.wrap(rows.Err(), "")
}

func (q *queries) CreateResourceGroup(ctx context.Context, g core.ResourceGroup) error {
	_, err := q.exec(ctx, `INSERT INTO resource_groups (id, tenant_id, name, name_norm, description, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, g.ID, g.TenantID, g.Name, core.Fold(g.Name), g.Description,
		q.t(g.CreatedAt), q.t(g.UpdatedAt))
	return err
}

func (q *queries) UpdateResourceGroup(ctx context.Context, g core.ResourceGroup) error {
	res, err := q.exec(ctx, `UPDATE resource_groups SET name = ?, name_norm = ?, description = ?, updated_at = ?
		WHERE id = ?`, g.Name, core.Fold(g.Name), g.Description, q.t(g.UpdatedAt), g.ID)
	if err != nil {
		return err
	}
	return mustAffect(res, "resource group")
}

func (q *queries) DeleteResourceGroup(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, `DELETE FROM resource_group_members WHERE group_id = ?`, id); err != nil {
		return err
	}
	res, err := q.exec(ctx, `DELETE FROM resource_groups WHERE id = ?`, id)
	if err != nil {
		return err
	}
	return mustAffect(res, "resource group")
}

func (q *queries) AddResourceGroupMember(ctx context.Context, groupID, userID string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO resource_group_members (group_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, q.t(at))
	return err
}

func (q *queries) RemoveResourceGroupMember(ctx context.Context, groupID, userID string) error {
	res, err := q.exec(ctx, `DELETE FROM resource_group_members WHERE group_id = ? AND user_id = ?`, groupID, userID)
	if err != nil {
		return err
	}
	return mustAffect(res, "resource group member")
}
