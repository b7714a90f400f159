// Package grant is what the adapter's ServiceAccount may read: the adapter
// lists the objects a rule maps (pods, services, deployments, ...) for every
// request of a metric of theirs, and fails it with "unable to list matching
// resources" where its ServiceAccount may not. Missing asks the API server
// which resources it lacks (SubjectAccessReviews); a Grant is the
// ClusterRole and binding that give them, as commands, as YAML, or created.
package grant

import (
	"context"
	"fmt"
	"sort"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// ServiceAccount is the adapter's identity.
type ServiceAccount struct{ Namespace, Name string }

// User is the name the API server knows the ServiceAccount by.
func (sa ServiceAccount) User() string {
	return "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
}

func (sa ServiceAccount) String() string { return sa.Namespace + "/" + sa.Name }

// Missing asks the API server (one SubjectAccessReview per resource) which
// of resources sa may not list, sorted. An error is the first review the
// caller may not send.
func Missing(ctx context.Context, c kubernetes.Interface, sa ServiceAccount, resources []schema.GroupResource) ([]schema.GroupResource, error) {
	var out []schema.GroupResource
	for _, gr := range dedup(resources) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               sa.User(),
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + sa.Namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Group: gr.Group, Resource: gr.Resource},
		}}
		got, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return out, fmt.Errorf("asking whether %s may list %s: %w", sa.User(), gr, err)
		}
		if !got.Status.Allowed {
			out = append(out, gr)
		}
	}
	return out, nil
}

func dedup(grs []schema.GroupResource) []schema.GroupResource {
	seen := map[schema.GroupResource]bool{}
	var out []schema.GroupResource
	for _, gr := range grs {
		if gr.Resource != "" && !seen[gr] {
			seen[gr] = true
			out = append(out, gr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Grant lets ServiceAccount get, list and watch Resources: one ClusterRole
// and one ClusterRoleBinding per resource, named after it, so granting is
// additive and granting twice changes nothing.
type Grant struct {
	ServiceAccount ServiceAccount
	Resources      []schema.GroupResource
}

// verbs are what the adapter does with the objects a rule maps.
var verbs = []string{"get", "list", "watch"}

// Name is the ClusterRole's and binding's name for gr.
func Name(gr schema.GroupResource) string {
	return "metricscale-adapter-read-" + gr.String()
}

// Commands are the kubectl commands that create the grant, one per line;
// kubectl create refuses an existing object, so each is piped through
// apply and running them twice is harmless.
func (g Grant) Commands() string {
	var b strings.Builder
	for _, gr := range dedup(g.Resources) {
		n := Name(gr)
		fmt.Fprintf(&b, "kubectl create clusterrole %s --verb=%s --resource=%s --dry-run=client -o yaml | kubectl apply -f -\n",
			n, strings.Join(verbs, ","), gr.String())
		fmt.Fprintf(&b, "kubectl create clusterrolebinding %s --clusterrole=%s --serviceaccount=%s:%s --dry-run=client -o yaml | kubectl apply -f -\n",
			n, n, g.ServiceAccount.Namespace, g.ServiceAccount.Name)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// YAML is the grant as manifests for kubectl apply.
func (g Grant) YAML() string {
	var docs []string
	for _, gr := range dedup(g.Resources) {
		n := Name(gr)
		docs = append(docs, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: %[1]s
rules:
- apiGroups: [%[2]q]
  resources: [%[3]s]
  verbs: [%[4]s]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %[1]s
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
subjects:
- {kind: ServiceAccount, name: %[5]s, namespace: %[6]s}
`, n, gr.Group, gr.Resource, strings.Join(verbs, ", "), g.ServiceAccount.Name, g.ServiceAccount.Namespace))
	}
	return strings.Join(docs, "---\n")
}

// Objects are the grant's ClusterRoles and bindings.
func (g Grant) Objects() ([]*rbacv1.ClusterRole, []*rbacv1.ClusterRoleBinding) {
	var roles []*rbacv1.ClusterRole
	var bindings []*rbacv1.ClusterRoleBinding
	for _, gr := range dedup(g.Resources) {
		meta := metav1.ObjectMeta{Name: Name(gr), Labels: map[string]string{"app.kubernetes.io/managed-by": "metricscale"}}
		roles = append(roles, &rbacv1.ClusterRole{ObjectMeta: meta,
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{gr.Group}, Resources: []string{gr.Resource}, Verbs: verbs}}})
		bindings = append(bindings, &rbacv1.ClusterRoleBinding{ObjectMeta: meta,
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: meta.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: g.ServiceAccount.Name, Namespace: g.ServiceAccount.Namespace}}})
	}
	return roles, bindings
}

// Create creates the grant's objects with the caller's rights; those that
// exist already are left as they are. The API server refuses a ClusterRole
// granting more than the caller holds (RBAC's escalation check), and that
// refusal is returned as it is.
func (g Grant) Create(ctx context.Context, c kubernetes.Interface) error {
	roles, bindings := g.Objects()
	for _, r := range roles {
		if _, err := c.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating ClusterRole %s: %w", r.Name, err)
		}
	}
	for _, b := range bindings {
		if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating ClusterRoleBinding %s: %w", b.Name, err)
		}
	}
	return nil
}
