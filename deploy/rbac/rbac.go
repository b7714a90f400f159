// Package rbac holds each command's least-privilege roles, the files users
// apply, embedded so that a refused request can be answered with the role
// that grants it.
//
// The files are shown as they are in docs/install.md (a unit test compares
// them; another checks the roles pkg/apierr names):
//
//	read-only.yaml          ClusterRole for doctor and watch: every API call of
//	                        pkg/doctor, pkg/chain, pkg/adapter, pkg/prometheus,
//	                        pkg/watch, pkg/hpareq and pkg/kube
//	adapter-config.yaml     Role for add-rule and rollback in the adapter's namespace
//	grafana-secret.yaml     the one Secret of grafana provision --grafana-secret
//	migrate-keda.yaml       Role for migrate keda --apply/--rollback in the HPAs'
//	                        namespace: ScaledObjects, HPA restore
//	metrics-apiservice.yaml ClusterRole: update and delete of
//	                        v1beta1.external.metrics.k8s.io only (no create,
//	                        which RBAC cannot limit to a name)
//
// Granting finds the role whose rules allow a refused request, with
// Kubernetes' own rule comparison (k8s.io/component-helpers), so every
// command answers a Forbidden with one message naming that role and the
// commands that apply and bind it (pkg/cmd's explainRefusal). The e2e tests
// apply and bind them with the documented commands and run each command as a
// ServiceAccount bound only to them (--as).
package rbac

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

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
	// YAML is the file as it is, for kubectl apply.
	YAML []byte
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
		out = append(out, Role{Role: apierr.Role{Kind: r.Kind, Name: r.Name, Key: strings.TrimSuffix(n, ".yaml")}, Rules: r.Rules, YAML: raw})
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
