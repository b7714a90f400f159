// Package rbac holds each command's least-privilege roles, the files users
// apply, embedded so that a refused request can be answered with the role
// that grants it.
package rbac

import (
	"embed"
	"fmt"
	"io/fs"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

//go:embed *.yaml
var files embed.FS

// Role is one file's role and its rules.
type Role struct {
	apierr.Role
	Rules []rbacv1.PolicyRule
}

// Roles are the roles of the files, in the order of their names.
func Roles() ([]Role, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []Role
	for _, n := range names {
		raw, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		// Role and ClusterRole share the fields read here.
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("deploy/rbac/%s: %w", n, err)
		}
		out = append(out, Role{Role: apierr.Role{Kind: r.Kind, Name: r.Name, File: "deploy/rbac/" + n}, Rules: r.Rules})
	}
	return out, nil
}

// Granting is the first role whose rules allow what the API server
// refused (by Kubernetes' own rule comparison); false when none does.
func Granting(r apierr.Refusal) (apierr.Role, bool) {
	roles, err := Roles()
	if err != nil {
		return apierr.Role{}, false
	}
	want := []rbacv1.PolicyRule{{Verbs: []string{r.Verb}, APIGroups: []string{r.Group}, Resources: []string{r.Resource}}}
	if r.Name != "" {
		want[0].ResourceNames = []string{r.Name}
	}
	for _, role := range roles {
		if ok, _ := validation.Covers(role.Rules, want); ok {
			return role.Role, true
		}
	}
	return apierr.Role{}, false
}
