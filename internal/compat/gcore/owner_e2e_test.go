package gcore_test

import (
	"fmt"
	"testing"

	"roster/internal/core"
	"roster/internal/testsupport"
)

// An account whose only administrator has no email (made through the
// native API with a username alone) shows the same owner and
// has_active_admin in the list and alone, and no owner Gcore cannot show.
func TestClientOwnerIsAUserGcoreCanShow(t *testing.T) {
	e := startGcore(t)
	tenant := e.native.Do("POST", "/v1/tenants", map[string]any{"name": "Acme"}).Want(t, 201).Map(t)
	id, number := tenant["id"].(string), int64(tenant["number"].(float64))
	e.native.Do("POST", "/v1/users", map[string]any{"action": "register", "username": "acme-ops", "password": "Horse-battery-staple-42",
		"tenant_id": id, "roles": []string{core.RoleTenantAdmin}}).Want(t, 201)
	reseller := testsupport.NewClient(t, e.URL, nil).With("Authorization", "apikey "+testsupport.AdminKey)
	var list []map[string]any
	reseller.Do("GET", "/compat/gcore/iam/clients", nil).Want(t, 200).JSON(t, &list)
	var listed map[string]any
	for _, c := range list {
		if num(c, "id") == number {
			listed = c
		}
	}
	alone := reseller.Do("GET", fmt.Sprintf("/compat/gcore/iam/clients/%d", number), nil).Want(t, 200).Map(t)
	if listed == nil || listed["has_active_admin"] != alone["has_active_admin"] || fmt.Sprint(listed["owner"]) != fmt.Sprint(alone["owner"]) {
		t.Fatalf("the account listed: owner %v, has_active_admin %v; alone: owner %v, has_active_admin %v",
			listed["owner"], listed["has_active_admin"], alone["owner"], alone["has_active_admin"])
	}
	if owner, ok := listed["owner"].(float64); ok {
		reseller.Do("GET", fmt.Sprintf("/compat/gcore/iam/users/%d", int64(owner)), nil).Want(t, 200)
	}
}
