package service

import (
	"testing"

	"roster/internal/core"
)

func TestRoleRulesECE(t *testing.T) {
	admin, pviewer := core.RoleProviderAdmin, core.RoleProviderViewer
	manager, dviewer := core.RoleDeploymentManager, core.RoleDeploymentViewer
	for _, c := range []struct {
		roles []string
		ok    bool
	}{
		{[]string{admin}, true},
		{[]string{admin, admin}, true}, // one role, named twice
		{[]string{pviewer}, true},
		{[]string{pviewer, manager}, true},
		{[]string{pviewer, dviewer}, true},
		{[]string{manager, manager}, true},
		{[]string{admin, pviewer}, false}, // admin stands alone
		{[]string{dviewer, admin}, false},
		{[]string{manager, dviewer}, false}, // exclusive
		{[]string{pviewer, manager, dviewer}, false},
		{nil, false}, // at least one
		{[]string{}, false},
	} {
		v := &core.Validation{}
		checkRoleRules(v, "roles", RoleRulesECE, c.roles)
		if (v.Err() == nil) != c.ok {
			t.Errorf("%v: %v, want ok=%v", c.roles, v.Err(), c.ok)
		}
	}
	v := &core.Validation{}
	checkRoleRules(v, "roles", "", []string{admin, pviewer})
	if v.Err() != nil {
		t.Errorf("without rules, any combination: %v", v.Err())
	}
}
